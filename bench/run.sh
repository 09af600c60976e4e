#!/usr/bin/env bash
# Conversion benchmark: times `cat` of the inputs (the disk-speed baseline), hf2mlx in several
# modes, and mlx_lm.convert -q, on synthetic Llama-shaped checkpoints, in one run. Reports wall
# time, CPU time and peak RSS (/usr/bin/time -v) per run, and ratios to `cat`.
#
# `cat+dd <mode>` rows are a second baseline: read the inputs (`cat`) while writing as many
# bytes as that mode's output to the same disk, in 1 MiB direct writes, and fsyncing them (`dd
# oflag=direct conv=fdatasync`), in parallel -- the I/O any converter that makes its output
# durable must do (hf2mlx does, before the final rename; mlx_lm.convert does not), done the way
# the disk takes it fastest. On a disk that writes slower than the page cache reads, this, not
# `cat`, is the bound.
#
#   bench/run.sh [SIZES] [REPEATS]       e.g. bench/run.sh "1b 8b" 3
# Env: BENCH_DIR (default ~/.cache/hf2mlx/bench), SKIP_MLX_LM=1 to leave mlx_lm.convert out.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"1b 8b"}
reps=${2:-3}
dir=${BENCH_DIR:-$HOME/.cache/hf2mlx/bench}
mkdir -p "$dir"
PY=$(bash tools/mlx-oracle.sh | tail -1)
cargo build --release -q
bin=$PWD/target/release/hf2mlx
results=$dir/results.tsv
: > "$results"

measure() { # label size cmd...
  local label=$1 size=$2; shift 2
  local out=$dir/out-$size
  for r in $(seq "$reps"); do
    rm -rf "$out"
    if [ "${cold:-0}" = 1 ]; then
      # Cold rows: the inputs come from the disk (as right after a reboot).
      sync && echo 1 > /proc/sys/vm/drop_caches
    else
      # Re-warm: a run that wrote a 16 GB output may have pushed inputs out of the page cache.
      cat "$src"/*.safetensors > /dev/null
    fi
    /usr/bin/time -v -o "$dir/time.txt" "$@" > /dev/null 2> "$dir/stderr.txt" || { cat "$dir/stderr.txt"; exit 1; }
    local wall cpu rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$dir/time.txt")
    cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$dir/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$dir/time.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$label" "$r" "$wall" "$cpu" "$rss" | tee -a "$results"
  done
  rm -rf "$out"
}

for size in $sizes; do
  src=$dir/llama-$size
  [ -f "$src/config.json" ] || "$PY" bench/make_synthetic.py "$size" "$src"
  out=$dir/out-$size
  # The bf16 row writes an output as large as the input (the temp folder and the cat+dd file
  # never coexist with it): check up front rather than fail with ENOSPC half way.
  need=$(du -sb "$src" | cut -f1)
  avail=$(df --output=avail -B1 "$dir" | tail -1)
  if [ "$avail" -lt $((need + need / 10)) ]; then
    echo "bench: $size needs ~$((need / 1000000000 + 1)) GB free in $dir, have $((avail / 1000000000)) GB" >&2
    exit 1
  fi
  # `measure` warms the page cache before every run, untimed, so every tool (and cat) reads
  # from memory: the ratios then compare converters, not the disk's cold-read speed.
  measure cat "$size" sh -c "cat $src/*.safetensors > /dev/null"
  for mode in "-q" "bf16" "mxfp4" "nvfp4" "mxfp8"; do
    case $mode in
      -q) args=(-q) ;;
      bf16) args=() ;;
      *) args=(-q --q-mode "$mode") ;;
    esac
    bytes=$("$bin" convert --hf-path "$src" --mlx-path "$out" "${args[@]}" --dry-run --json |
      "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total_size"])')
    measure "cat+dd $mode" "$size" sh -c "cat $src/*.safetensors > /dev/null &
      dd if=/dev/zero of=$dir/dd.bin bs=1M count=$(((bytes + 1048575) / 1048576)) oflag=direct conv=fdatasync status=none
      wait; rm -f $dir/dd.bin"
    measure "hf2mlx $mode" "$size" "$bin" convert --hf-path "$src" --mlx-path "$out" "${args[@]}" --quiet
    # The same through the page cache (no O_DIRECT): what the direct write path gains.
    if [ "$mode" = -q ]; then
      measure "hf2mlx -q buffered" "$size" env HF2MLX_DIRECT_IO=0 \
        "$bin" convert --hf-path "$src" --mlx-path "$out" -q --quiet
    fi
  done
  # A cold page cache (needs root to drop it; skipped otherwise): what converting a model
  # downloaded a while ago costs, and whether hf2mlx keeps the disk busy while it computes.
  if [ -w /proc/sys/vm/drop_caches ]; then
    cold=1 measure "cat (cold)" "$size" sh -c "cat $src/*.safetensors > /dev/null"
    cold=1 measure "hf2mlx -q (cold)" "$size" "$bin" convert --hf-path "$src" --mlx-path "$out" -q --quiet
  fi
  if [ "${SKIP_MLX_LM:-0}" != 1 ]; then
    measure "mlx_lm -q" "$size" env HF_HUB_OFFLINE=1 "$PY" -m mlx_lm convert --hf-path "$src" --mlx-path "$out" -q
  fi
done

# Median per (size, tool), ratios against cat of the same size.
"$PY" - "$results" <<'PYEOF'
import sys, statistics, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
g = collections.OrderedDict()
for size, label, _, wall, cpu, rss in rows:
    g.setdefault((size, label), []).append((float(wall), float(cpu), float(rss)))
print(f"\n| model | tool | wall s (median) | CPU s | peak RSS MB | wall / cat | wall / cat+dd |")
print("|---|---|---|---|---|---|---|")
for (size, label), v in g.items():
    wall = statistics.median(x[0] for x in v); cpu = statistics.median(x[1] for x in v)
    # Cold rows compare with a cold cat, warm rows with a warm one.
    cold = label.endswith("(cold)")
    rss = max(x[2] for x in v)
    base = statistics.median(x[0] for x in g[(size, "cat (cold)" if cold else "cat")])
    mode = label.split(" ")[1] if label.startswith("hf2mlx ") and not cold else None
    floor = g.get((size, f"cat+dd {mode}")) if mode else None
    vs_floor = f"{wall / statistics.median(x[0] for x in floor):.2f}" if floor else ""
    print(f"| {size} | {label} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {wall / base:.2f} | {vs_floor} |")
for size in dict.fromkeys(k[0] for k in g):
    ours, theirs = g.get((size, "hf2mlx -q")), g.get((size, "mlx_lm -q"))
    if ours and theirs:
        w = statistics.median(x[0] for x in theirs) / statistics.median(x[0] for x in ours)
        c = statistics.median(x[1] for x in theirs) / statistics.median(x[1] for x in ours)
        print(f"{size}: hf2mlx -q is {w:.1f}x faster than mlx_lm -q in wall time, {c:.1f}x in CPU time")
PYEOF
