//! Property tests: the shard planner follows mlx-lm's greedy rule (every tensor placed once, in
//! order, within the limit unless alone), safetensors headers survive write → parse, and the
//! module order used to sort parameters is a total order for any names.

use hf2mlx::dtype::DType;
use hf2mlx::plan::make_shards;
use hf2mlx::safetensors::{ShardLayout, parse_header};
use proptest::prelude::*;

const DTYPES: [DType; 6] = [
    DType::BF16,
    DType::F16,
    DType::F32,
    DType::U32,
    DType::U8,
    DType::I64,
];

fn tensors() -> impl Strategy<Value = Vec<(String, DType, Vec<usize>)>> {
    prop::collection::vec(
        (0..DTYPES.len(), prop::collection::vec(0usize..40, 0..4)),
        0..40,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (d, shape))| (format!("t{i:03}"), DTYPES[d], shape))
            .collect()
    })
}

fn nbytes(t: &(String, DType, Vec<usize>)) -> u64 {
    t.2.iter().product::<usize>() as u64 * t.1.size() as u64
}

/// mlx-lm's `make_shards`, without its empty first shard when the first tensor is too big
/// (mlx-lm#1720).
fn reference(sizes: &[u64], max: u64) -> Vec<Vec<usize>> {
    let mut shards = vec![Vec::new()];
    let mut size = 0;
    for (i, &n) in sizes.iter().enumerate() {
        if size + n > max {
            shards.push(Vec::new());
            size = 0;
        }
        shards.last_mut().unwrap().push(i);
        size += n;
    }
    if shards[0].is_empty() && shards.len() > 1 {
        shards.remove(0);
    }
    shards
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn shards_follow_mlx_lms_greedy_rule(ts in tensors(), max in 1u64..20_000) {
        let sizes: Vec<u64> = ts.iter().map(nbytes).collect();
        let (shards, placements) = make_shards(ts.clone(), max);
        prop_assert_eq!(placements.len(), ts.len());
        // Every tensor once, in order: concatenating the shards gives the input back.
        let flat: Vec<&str> = shards.iter().flat_map(|s| s.tensors.iter().map(|t| t.name.as_str())).collect();
        let names: Vec<&str> = ts.iter().map(|t| t.0.as_str()).collect();
        prop_assert_eq!(flat, names);
        for (i, p) in placements.iter().enumerate() {
            prop_assert_eq!(&shards[p.shard].tensors[p.slot].name, &ts[i].0);
            prop_assert_eq!(shards[p.shard].tensors[p.slot].nbytes, sizes[i]);
        }
        // Within the limit unless a shard holds a single oversized tensor; no empty shard.
        for s in &shards {
            prop_assert!(!s.tensors.is_empty() || shards.len() == 1);
            prop_assert!(s.data_len() <= max || s.tensors.len() == 1);
        }
        // Exactly mlx-lm's grouping.
        let got: Vec<Vec<usize>> = {
            let mut v = vec![Vec::new(); shards.len()];
            for (i, p) in placements.iter().enumerate() { v[p.shard].push(i); }
            v
        };
        // (No tensors, no shards: the planner refuses empty checkpoints before this.)
        let want = if ts.is_empty() { vec![] } else { reference(&sizes, max) };
        prop_assert_eq!(got, want);
        // Names: one file, or model-0000i-of-0000N.
        if shards.len() == 1 {
            prop_assert_eq!(&shards[0].file_name, "model.safetensors");
        } else {
            for (i, s) in shards.iter().enumerate() {
                prop_assert_eq!(&s.file_name, &format!("model-{:05}-of-{:05}.safetensors", i + 1, shards.len()));
            }
        }
    }

    #[test]
    fn header_write_parse_round_trip(
        ts in tensors(),
        names in prop::collection::vec("[a-z\\\\\"\\n\\t\u{0}-\u{1f}é日.]{1,12}", 40),
    ) {
        // Arbitrary (unique) names, including quotes, backslashes and control characters.
        let mut seen = std::collections::HashSet::new();
        let ts: Vec<_> = ts
            .into_iter()
            .zip(names)
            .filter(|(_, n)| n != "__metadata__" && seen.insert(n.clone()))
            .map(|((_, d, s), n)| (n, d, s))
            .collect();
        let layout = ShardLayout::new("model.safetensors".into(), ts.clone());
        let json = layout.header_json();
        let h = parse_header(json.as_bytes(), layout.data_len()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(h.tensors.len(), ts.len());
        prop_assert_eq!(h.metadata.clone(), vec![("format".to_string(), "mlx".to_string())]);
        for slot in &layout.tensors {
            let t = h.tensors.iter().find(|t| t.name == slot.name).unwrap();
            prop_assert_eq!(t.dtype, slot.dtype);
            prop_assert_eq!(&t.shape, &slot.shape);
            prop_assert_eq!((t.begin, t.end), (slot.offset, slot.offset + slot.nbytes));
        }
        // The official reader agrees.
        let mut file = (json.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(json.as_bytes());
        file.resize(file.len() + layout.data_len() as usize, 0);
        let st = safetensors::SafeTensors::deserialize(&file).unwrap();
        prop_assert_eq!(st.len(), ts.len());
    }

    #[test]
    fn module_order_is_a_total_order(
        names in prop::collection::vec("(model|layers|[0-9]{1,3}|0[0-9]|1a|\\+1|mlp|self_attn|weight|)(\\.(model|layers|[0-9]{1,3}|0[0-9]|1a|mlp|weight|norm)){0,4}", 3..30),
        arch_i in 0usize..hf2mlx::arch::REGISTRY.len(),
    ) {
        use std::cmp::Ordering;
        let arch = &hf2mlx::arch::REGISTRY[arch_i];
        let cmp = |a: &str, b: &str| hf2mlx::arch::apply::module_order(arch, a, b);
        for a in &names {
            prop_assert_eq!(cmp(a, a), Ordering::Equal);
            for b in &names {
                prop_assert_eq!(cmp(a, b), cmp(b, a).reverse());
                prop_assert_eq!(cmp(a, b) == Ordering::Equal, a == b);
                for c in &names {
                    if cmp(a, b) != Ordering::Greater && cmp(b, c) != Ordering::Greater {
                        prop_assert!(cmp(a, c) != Ordering::Greater, "{a} <= {b} <= {c} but {a} > {c}");
                    }
                }
            }
        }
        let mut sorted = names.clone();
        sorted.sort_by(|a, b| cmp(a, b));
    }
}
