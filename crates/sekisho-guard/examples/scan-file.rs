//! Scan a UTF-8 text file with a heavy guardrail and print the throughput as
//! JSON: every PII type (ANONYMIZE), 100 custom words, the profanity list and
//! 10 custom regexes, as in `benches/scan.rs`. One thread.
//!
//! ```sh
//! cargo run --release -p sekisho-guard --example scan-file -- FILE [--block-size BYTES] [--iterations N] [--min-seconds S]
//! ```
//!
//! Two modes: the file cut into blocks of at most `--block-size` bytes (4096
//! by default; each cut is after the last newline that fits, else at the
//! last character boundary), each block applied as its own `ApplyGuardrail`
//! request, as prompts are; and the whole file as one block. Each mode runs
//! twice to warm up, count findings and calibrate, then takes samples (at
//! least `--iterations`, 5 by default, and for at least `--min-seconds`, 2 by
//! default); a sample repeats the pass for at least 0.25 s. The figures are
//! the median sample's time per pass, by wall clock and by this thread's
//! on-CPU time (`/proc/thread-self/schedstat`, where there is one).
//! `scripts/bench-presidio.py` cuts its text the same way.

#[path = "../benches/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use sekisho_guard::{
    CompiledGuardrail, ContentBlock, EntityType, FindingKind, OutputScope, Source,
};
use serde_json::{Value, json};

/// Seconds a timed sample lasts at least.
const SAMPLE: f64 = 0.25;

const USAGE: &str = "usage: scan-file FILE [--block-size BYTES] [--iterations N] [--min-seconds S]";

/// Blocks of at most `max` bytes, cut after the last `\n` that fits, else at
/// the last character boundary (a block is never empty).
fn blocks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = if rest.len() <= max {
            rest.len()
        } else {
            let mut end = max.max(1);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            if end == 0 {
                end = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            rest[..end].rfind('\n').map_or(end, |i| i + 1)
        };
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

/// This thread's time on a CPU, in seconds (Linux).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn kind_name(k: &FindingKind) -> String {
    match k {
        FindingKind::Pii(t) => t.as_str().to_string(),
        FindingKind::Regex(_) => "custom regex".into(),
        FindingKind::CustomWord(_) => "custom word".into(),
        FindingKind::ManagedWord(_) => "profanity".into(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(g: &CompiledGuardrail, name: &str, requests: &[ContentBlock], min: (usize, f64)) -> Value {
    let bytes: usize = requests
        .iter()
        .filter_map(|b| b.text.as_ref())
        .map(|t| t.text.len())
        .sum();
    let apply = |block| {
        g.apply_detailed(
            Source::Input,
            std::slice::from_ref(block),
            OutputScope::Interventions,
        )
    };
    let mut found = BTreeMap::<String, u64>::new();
    for block in requests {
        for f in &apply(block).findings {
            *found.entry(kind_name(&f.kind)).or_default() += 1;
        }
    }
    let warm_up = Instant::now();
    for block in requests {
        std::hint::black_box(apply(block));
    }
    // The kernel updates schedstat at scheduler ticks (a few ms), so a
    // sample repeats the pass for at least SAMPLE seconds.
    let per_sample = (SAMPLE / warm_up.elapsed().as_secs_f64().max(1e-6)).ceil() as usize;
    let per_sample = per_sample.max(1);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while wall.len() < min.0 || started.elapsed().as_secs_f64() < min.1 {
        let (t, c) = (Instant::now(), cpu_seconds());
        for _ in 0..per_sample {
            for block in requests {
                std::hint::black_box(apply(block));
            }
        }
        wall.push(t.elapsed().as_secs_f64() / per_sample as f64);
        if let (Some(c0), Some(c1)) = (c, cpu_seconds()) {
            cpu.push((c1 - c0) / per_sample as f64);
        }
    }
    let samples = wall.len();
    let wall = median(wall);
    let cpu = (cpu.len() == samples).then(|| median(cpu));
    let rate = |s: f64, unit: f64| bytes as f64 / s / unit;
    let pii: u64 = found
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "custom regex" | "custom word" | "profanity"))
        .map(|(_, n)| n)
        .sum();
    json!({
        "mode": name,
        "requests": requests.len(),
        "bytes": bytes,
        "samples": samples,
        "passes_per_sample": per_sample,
        "seconds": wall,
        "mb_per_s": rate(wall, 1e6),
        "mib_per_s": rate(wall, 1048576.0),
        "cpu_seconds": cpu,
        "cpu_mb_per_s": cpu.map(|c| rate(c, 1e6)),
        "cpu_mib_per_s": cpu.map(|c| rate(c, 1048576.0)),
        "entities": found.values().sum::<u64>(),
        "pii_entities": pii,
        "by_type": found,
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut file, mut block_size, mut iterations, mut min_seconds) = (None, 4096, 5, 2.0);
    while let Some(a) = args.next() {
        let mut num = |flag: &str| -> f64 {
            args.next()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|n| *n >= 0.0)
                .unwrap_or_else(|| panic!("{flag} needs a number"))
        };
        match a.as_str() {
            "--block-size" => block_size = (num("--block-size") as usize).max(1),
            "--iterations" => iterations = (num("--iterations") as usize).max(1),
            "--min-seconds" => min_seconds = num("--min-seconds"),
            _ if file.is_none() && !a.starts_with("--") => file = Some(a),
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&file).expect("a readable UTF-8 file");
    let g = common::guardrail();
    let cut: Vec<ContentBlock> = blocks(&text, block_size)
        .into_iter()
        .map(ContentBlock::text)
        .collect();
    let whole = [ContentBlock::text(text.as_str())];
    let out = json!({
        "engine": "sekisho-guard",
        "file": file,
        "bytes": text.len(),
        "block_size": block_size,
        "iterations": iterations,
        "min_seconds": min_seconds,
        "guardrail": {
            "pii_types": EntityType::ALL.len(),
            "custom_words": 100,
            "managed_word_lists": ["PROFANITY"],
            "regexes": 10,
        },
        "runs": [
            run(&g, "blocks", &cut, (iterations, min_seconds)),
            run(&g, "one-block", &whole, (iterations, min_seconds)),
        ],
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}
