//! The order in which `mx.save_safetensors` lays out tensor data on Linux: the iteration order
//! of a libstdc++ `std::unordered_map<std::string, array>` filled by emplacing the names in
//! dict order into an empty map. Readers ignore the order; reproducing it makes our shards
//! byte-identical to mlx-lm's on Linux (checkable with `sha256sum`), not just tensor-identical.
//!
//! Hand-written because it is an emulation of one C++ standard library's internals (hash
//! `std::_Hash_bytes` with seed 0xc70f6907, prime bucket growth, insert-at-bucket-begin and
//! rehash relinking), verified in the reference against g++-12 and `mx.save_safetensors`.

const MUL: u64 = 0xC6A4_A793_5BD1_E995;
const SEED: u64 = 0xC70F_6907;

/// `std::_Hash_bytes(key, len, 0xc70f6907)` (64-bit MurmurHash2 variant of libstdc++).
fn std_hash(key: &[u8]) -> u64 {
    let n = key.len();
    let shift_mix = |v: u64| v ^ (v >> 47);
    let mut h = SEED ^ (n as u64).wrapping_mul(MUL);
    let whole = n & !7;
    for c in key[..whole].chunks_exact(8) {
        let mut d = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        d = shift_mix(d.wrapping_mul(MUL)).wrapping_mul(MUL);
        h = (h ^ d).wrapping_mul(MUL);
    }
    if n & 7 != 0 {
        let mut tail = [0u8; 8];
        tail[..n - whole].copy_from_slice(&key[whole..]);
        h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(MUL);
    }
    h = shift_mix(h).wrapping_mul(MUL);
    shift_mix(h)
}

/// Bucket count after inserting the n-th distinct key into an empty map (one at a time).
const GROWTH: [(usize, usize); 18] = [
    (1, 13),
    (14, 29),
    (30, 59),
    (60, 127),
    (128, 257),
    (258, 541),
    (542, 1109),
    (1110, 2357),
    (2358, 5087),
    (5088, 10273),
    (10274, 20753),
    (20754, 42043),
    (42044, 85229),
    (85230, 172933),
    (172934, 351061),
    (351062, 712697),
    (712698, 1447153),
    (1447154, 2938679),
];

fn bucket_count_for(n: usize) -> Option<usize> {
    GROWTH
        .iter()
        .rev()
        .find(|(first, _)| n >= *first)
        .map(|(_, bc)| *bc)
}

/// A position in the singly linked node list: the before-begin sentinel or a node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ptr {
    BeforeBegin,
    Node(usize),
}

/// Indices of `names` in the order libstdc++'s `unordered_map` iterates them after emplacing
/// them in the given order. Falls back to the given order for maps beyond the growth table.
pub fn mlx_data_order(names: &[&str]) -> Vec<usize> {
    let n = names.len();
    if n == 0 || bucket_count_for(n).is_none() || n > GROWTH[GROWTH.len() - 1].0 {
        return (0..n).collect();
    }
    let hashes: Vec<u64> = names.iter().map(|k| std_hash(k.as_bytes())).collect();
    let mut next: Vec<Option<usize>> = vec![None; n];
    let mut head: Option<usize> = None; // before_begin.next
    let mut buckets: Vec<Option<Ptr>> = vec![None; 1];
    let link =
        |next: &mut Vec<Option<usize>>, head: &mut Option<usize>, p: Ptr, v: Option<usize>| match p
        {
            Ptr::BeforeBegin => *head = v,
            Ptr::Node(i) => next[i] = v,
        };
    let get = |next: &Vec<Option<usize>>, head: &Option<usize>, p: Ptr| match p {
        Ptr::BeforeBegin => *head,
        Ptr::Node(i) => next[i],
    };
    for i in 0..n {
        let want = bucket_count_for(i + 1).unwrap_or(buckets.len());
        if want != buckets.len() {
            // _M_rehash_aux (unique keys): relink every node into the new buckets.
            let mut new_b: Vec<Option<Ptr>> = vec![None; want];
            let mut p = head;
            head = None;
            let mut bbegin_bkt = 0usize;
            while let Some(node) = p {
                let nxt = next[node];
                let b = (hashes[node] % want as u64) as usize;
                match new_b[b] {
                    None => {
                        next[node] = head;
                        head = Some(node);
                        new_b[b] = Some(Ptr::BeforeBegin);
                        if next[node].is_some() {
                            new_b[bbegin_bkt] = Some(Ptr::Node(node));
                        }
                        bbegin_bkt = b;
                    }
                    Some(prev) => {
                        let after = get(&next, &head, prev);
                        next[node] = after;
                        link(&mut next, &mut head, prev, Some(node));
                    }
                }
                p = nxt;
            }
            buckets = new_b;
        }
        // _M_insert_bucket_begin
        let b = (hashes[i] % buckets.len() as u64) as usize;
        match buckets[b] {
            Some(prev) => {
                let after = get(&next, &head, prev);
                next[i] = after;
                link(&mut next, &mut head, prev, Some(i));
            }
            None => {
                next[i] = head;
                head = Some(i);
                if let Some(old_front) = next[i] {
                    let ob = (hashes[old_front] % buckets.len() as u64) as usize;
                    buckets[ob] = Some(Ptr::Node(i));
                }
                buckets[b] = Some(Ptr::BeforeBegin);
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut p = head;
    while let Some(i) = p {
        order.push(i);
        p = next[i];
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_a_permutation() {
        for n in [0, 1, 13, 14, 100, 600] {
            let names: Vec<String> = (0..n).map(|i| format!("model.layers.{i}.weight")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut order = mlx_data_order(&refs);
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
    }
}
