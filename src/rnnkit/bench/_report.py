"""The benchmark's tables (plain text) and its JSON file."""

from __future__ import annotations

import json

from ..utils.atomic import write_text_atomic
from ._cases import F64_TARGET


# -- tables ------------------------------------------------------------------------------
def _ms(s):
    return f"{1e3 * s:9.2f}"


def _header(res):
    e = res["env"]
    th = e["threads"]
    lines = [
        f"rnnkit {e['rnnkit']} bench{' (quick)' if res['quick'] else ''}: numpy {e['numpy']}, "
        f"torch {e['torch'] or 'absent'}, python {e['python']}",
        f"cpu: {e['processor']} ({e['cores']} usable cores); threads: OpenBLAS {th['openblas']}, torch {th['torch']}",
        f"kernels: {e['kernels']}"
        + (f"; compile/load {res['kernel_compile_s']:.2f} s" if res["kernel_compile_s"] is not None else ""),
        f"float32 GEMM rate: {res['gemm_gflops']:.1f} GFLOP/s; per-step products: {e.get('gemm', 'openblas')}",
        "ratio = median over interleaved rounds of t_torch / t_rnnkit (above 1: rnnkit faster)",
        "best = fastest torch round / fastest rnnkit round (less sensitive to other processes' load)",
        "+-% = interquartile range / median; target = the issue's ratio, or 90% of the GEMM rate if lower",
    ]
    return "\n".join(lines)


def format_train(rows):
    out = [
        "",
        "training step (forward + BPTT + SGD, float32), ms",
        "goal = the issue's ratio; 90%GEMM = the ratio at 90% of the GEMM rate for the step's FLOPs;",
        "target = the lower of the two; verdict on the median ratio, MET(best) on the best round only",
        f"{'cell':5} {'T/B/I/H':>15} {'L':>1} {'D':>1} {'rnnkit':>9} {'+-%':>4} {'torch':>9} {'+-%':>4} "
        f"{'ratio':>6} {'best':>5} {'goal':>5} {'90%GEMM':>7} {'target':>6} {'GF/s':>6} {'%GEMM':>5} "
        f"{'backend':>8}  verdict",
    ]
    for r in rows:
        size = f"{r['T']}/{r['B']}/{r['I']}/{r['H']}"
        s = (
            f"{r['cell']:5} {size:>15} {r['layers']:>1} {2 if r['bidirectional'] else 1:>1} {_ms(r['ours_s'])} "
            f"{r['ours_spread_pct']:4.0f}"
        )
        if "ratio" in r:
            s += (
                f" {_ms(r['theirs_s'])} {r['theirs_spread_pct']:4.0f} {r['ratio']:6.2f} {r['best_ratio']:5.2f} "
                f"{r['goal']:5.2f} {r['gemm_bound']:7.2f} {r['target']:6.2f} "
                f"{r['ours_gflops']:6.1f} {r['ours_pct_gemm']:5.0f} {r.get('backend', ''):>8}  {r['verdict']}"
            )
        else:
            s += (
                f" {'':>9} {'':>4} {'':>6} {'':>5} {'':>5} {'':>7} {'':>6} "
                f"{r['ours_gflops']:6.1f} {r['ours_pct_gemm']:5.0f} {r.get('backend', ''):>8}"
            )
        out.append(s)
    return "\n".join(out)


def format_inference(rows):
    out = [
        "",
        "inference (eval forward; torch under no_grad), sequences/s",
        f"{'cell':5} {'T/B/I/H':>15} {'rnnkit':>10} {'torch':>10} {'ratio':>6}",
    ]
    for r in rows:
        size = f"{r['T']}/{r['B']}/{r['I']}/{r['H']}"
        theirs, ratio = r.get("theirs_seq_per_s", float("nan")), r.get("ratio", float("nan"))
        out.append(f"{r['cell']:5} {size:>15} {r['ours_seq_per_s']:10.0f} {theirs:10.0f} {ratio:6.2f}")
    return "\n".join(out)


def format_streaming(r):
    s = f"\nstreaming LSTM step, B=1, I={r['I']}, H={r['H']}: rnnkit {r['ours_us']:.1f} us"
    if "ratio" in r:
        s += (
            f", torch LSTMCell (no_grad) {r['theirs_us']:.1f} us, ratio {r['ratio']:.2f} (best {r['best_ratio']:.2f}); "
            f"goal {r['goal']:.0f}, 90%GEMM {r['gemm_bound']:.1f}, target {r['target']:.2f}: {r['verdict']}"
        )
    return s


def format_charlm(r):
    s = f"\nCharLM sampling (V={r['V']}, E={r['E']}, H={r['H']}): rnnkit {r['ours_chars_per_s']:.0f} chars/s"
    if "ratio" in r:
        s += f", torch {r['theirs_chars_per_s']:.0f} chars/s, ratio {r['ratio']:.2f}"
    return s


def format_memory(r):
    peaks = ", ".join(f"{int(n):,} steps: {p / 1024:.0f} KiB" for n, p in r["peaks"].items())
    return (
        f"\ntruncated BPTT peak memory (tracemalloc, k={r['k']}, B={r['B']}, H={r['H']}): {peaks}; "
        f"x{r['growth']:.2f} for a x{r['length_ratio']:.0f} longer stream ({'flat' if r['met'] else 'GROWS'})"
    )


def format_precision(rows, gemm_f64_over_f32=None):
    out = ["", "float64 time / float32 time, training step (median; best = fastest f64 / fastest f32 round)"]
    if gemm_f64_over_f32 is not None:
        out.append(f"the machine's float64 / float32 GEMM time: {gemm_f64_over_f32:.2f}")
    for r in rows:
        s = (
            f"{r['cell']:5} {r['T']}/{r['B']}/{r['I']}/{r['H']}: rnnkit {r['ours_f64_over_f32']:.2f} "
            f"(best {r['ours_best_f64_over_f32']:.2f})"
        )
        if "theirs_f64_over_f32" in r:
            s += f", torch {r['theirs_f64_over_f32']:.2f}"
        out.append(s + f"; target <= {F64_TARGET}: {r['verdict']}")
    return "\n".join(out)


def format_readme(res) -> str:
    """The speed table in Markdown, to paste into the README as is."""
    out = [
        "",
        "README table (Markdown):",
        "",
        "| case | T/B/I/H | rnnkit | torch | ratio (best round) | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in res.get("train", []):
        if "ratio" not in r:
            continue
        name = r["cell"] + (f" {r['layers']}-layer bidirectional" if r["bidirectional"] else "")
        why = f"{r['goal']:.2f}" if r["binding"] == "ratio" else f"{r['target']:.2f} (90% GEMM; goal {r['goal']:.2f})"
        out.append(
            f"| {name} training | {r['T']}/{r['B']}/{r['I']}/{r['H']} | {1e3 * r['ours_s']:.2f} ms | "
            f"{1e3 * r['theirs_s']:.2f} ms | {r['ratio']:.2f} ({r['best_ratio']:.2f}) | {why} | "
            f"{r['verdict']} |"
        )
    st = res.get("streaming")
    if st and "ratio" in st:
        out.append(
            f"| LSTM streaming step vs LSTMCell | 1/1/{st['I']}/{st['H']} | {st['ours_us']:.1f} us | "
            f"{st['theirs_us']:.1f} us | {st['ratio']:.2f} ({st['best_ratio']:.2f}) | "
            f"{st['target']:.2f} | {st['verdict']} |"
        )
    for r in res.get("precision", []):
        out.append(
            f"| {r['cell']} float64 / float32 time | {r['T']}/{r['B']}/{r['I']}/{r['H']} | | | "
            f"{r['ours_f64_over_f32']:.2f} ({r['ours_best_f64_over_f32']:.2f}) | <= {F64_TARGET} | "
            f"{r['verdict']} |"
        )
    return "\n".join(out)


def write_json(path, result) -> None:
    """Write the result atomically (:func:`rnnkit.utils.atomic.write_text_atomic`)."""
    text = json.dumps(result, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    write_text_atomic(path, text)
