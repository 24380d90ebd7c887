//! `sekisho guard`: try a guardrail on a text, evaluate one on a data set.
//!
//! `test` prints the assessment of one text (a table, or the
//! `ApplyGuardrail` response as JSON) and exits 0 when the guardrail let it
//! pass, 1 when it intervened. `eval` reads JSON lines, either labelled
//! (`{"text", "label"}`) or span-annotated (`{"text", "spans"}`), and prints
//! precision, recall, F1 and false-positive rate per filter or entity type.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstream::println;
use anstyle::{AnsiColor, Style};
use anyhow::{Context, bail};
use sekisho_guard::response::{GuardrailAction, OutputScope};
use sekisho_guard::{
    Applied, CompiledGuardrail, ContentBlock, Finding, FindingAction, FindingKind, GuardrailConfig,
    Source,
};
use serde::{Deserialize, Serialize};

const RED: Style = AnsiColor::Red.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();

#[derive(clap::Subcommand)]
pub enum GuardCommand {
    /// Apply a guardrail to a text (the arguments, or stdin) and print the
    /// assessment. Exit code 0 when it passes, 1 when the guardrail
    /// intervened, 2 on errors.
    Test(TestArgs),
    /// Evaluate a guardrail on a JSON-lines data set: precision, recall, F1
    /// and false-positive rate per filter and entity type.
    Eval(EvalArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum SourceArg {
    Input,
    Output,
}

impl From<SourceArg> for Source {
    fn from(s: SourceArg) -> Self {
        match s {
            SourceArg::Input => Source::Input,
            SourceArg::Output => Source::Output,
        }
    }
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// The guardrail: a JSON file in the Bedrock CreateGuardrail shape.
    #[arg(long, value_name = "FILE")]
    pub guardrail: PathBuf,
    /// Apply it as to a prompt (INPUT) or to a model's answer (OUTPUT).
    #[arg(long, value_enum, default_value = "INPUT", ignore_case = true)]
    pub source: SourceArg,
    /// Print the ApplyGuardrail response as JSON.
    #[arg(long)]
    pub json: bool,
    /// The text (joined with spaces); read from stdin when absent.
    pub text: Vec<String>,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The guardrail: a JSON file in the Bedrock CreateGuardrail shape.
    #[arg(long, value_name = "FILE")]
    pub guardrail: PathBuf,
    /// JSON lines: {"text", "label"} or {"text", "spans": [{"start", "end", "type"}]}.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Apply it as to a prompt (INPUT) or to a model's answer (OUTPUT).
    #[arg(long, value_enum, default_value = "INPUT", ignore_case = true)]
    pub source: SourceArg,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: GuardCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GuardCommand::Test(a) => test(a),
        GuardCommand::Eval(a) => eval(a),
    }
}

/// Read, parse and compile a guardrail; errors name the file and the field.
pub fn load(path: &Path) -> anyhow::Result<CompiledGuardrail> {
    let raw = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read guardrail {}", path.display()))?;
    let config: GuardrailConfig = serde_json::from_str(&raw)
        .with_context(|| format!("invalid guardrail {}", path.display()))?;
    CompiledGuardrail::compile_with(&config, &sekisho_classify::embedded())
        .map_err(|e| anyhow::anyhow!("invalid guardrail {}: {e}", path.display()))
}

/// The enum's wire name (`PROMPT_ATTACK`, `BLOCKED`...).
fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Show only the first and last character of a match.
fn masked(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::new();
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
    }
}

fn action_name(a: FindingAction) -> &'static str {
    match a {
        FindingAction::Block => "BLOCKED",
        FindingAction::Anonymize => "ANONYMIZED",
        FindingAction::None => "NONE",
    }
}

/// The policy and the type or name of a positioned finding.
fn describe(g: &CompiledGuardrail, kind: &FindingKind) -> (&'static str, String) {
    let config = g.config();
    match kind {
        FindingKind::Pii(t) => ("sensitive information", t.as_str().to_string()),
        FindingKind::Regex(i) => (
            "sensitive information (regex)",
            config
                .sensitive_information_policy_config
                .as_ref()
                .and_then(|s| s.regexes_config.as_ref())
                .and_then(|r| r.get(*i))
                .map(|r| r.name.clone())
                .unwrap_or_else(|| format!("regex #{i}")),
        ),
        FindingKind::CustomWord(_) => ("word", "CUSTOM_WORD".into()),
        FindingKind::ManagedWord(l) => ("word", wire(l)),
    }
}

fn read_text(args: &[String]) -> anyhow::Result<String> {
    if !args.is_empty() {
        return Ok(args.join(" "));
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the text from stdin")?;
    Ok(s)
}

fn test(a: TestArgs) -> anyhow::Result<ExitCode> {
    let g = load(&a.guardrail)?;
    let text = read_text(&a.text)?;
    let source: Source = a.source.into();
    let applied = g.apply_detailed(
        source,
        &[ContentBlock::text(text.clone())],
        OutputScope::Full,
    );
    let intervened = applied.response.action == GuardrailAction::GuardrailIntervened;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&applied.response)?);
    } else {
        print_assessment(&g, &text, &applied);
    }
    Ok(if intervened {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_assessment(g: &CompiledGuardrail, text: &str, applied: &Applied) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    table.set_header(["policy", "type / name", "match", "action", "bytes"]);
    let mut rows = 0usize;
    for f in &applied.findings {
        let (policy, name) = describe(g, &f.kind);
        let m = text.get(f.start..f.end).unwrap_or("");
        table.add_row(vec![
            policy.to_string(),
            name,
            masked(m),
            action_name(f.action).to_string(),
            format!("{}..{}", f.start, f.end),
        ]);
        rows += 1;
    }
    for a in &applied.response.assessments {
        if let Some(c) = &a.content_policy {
            for f in &c.filters {
                if f.detected == Some(false) {
                    continue;
                }
                table.add_row(vec![
                    "content".to_string(),
                    wire(&f.filter_type),
                    format!("confidence {}", wire(&f.confidence)),
                    wire(&f.action),
                    String::new(),
                ]);
                rows += 1;
            }
        }
        if let Some(t) = &a.topic_policy {
            for f in &t.topics {
                if f.detected == Some(false) {
                    continue;
                }
                table.add_row(vec![
                    "topic".to_string(),
                    f.name.clone(),
                    String::new(),
                    wire(&f.action),
                    String::new(),
                ]);
                rows += 1;
            }
        }
        if let Some(c) = &a.contextual_grounding_policy {
            for f in c.filters.iter().flatten() {
                table.add_row(vec![
                    "contextual grounding".to_string(),
                    wire(&f.filter_type),
                    format!("score {:.2} (threshold {:.2})", f.score, f.threshold),
                    wire(&f.action),
                    String::new(),
                ]);
                rows += 1;
            }
        }
    }
    let r = &applied.response;
    let (style, verdict) = match r.action {
        GuardrailAction::None => (GREEN, "NONE"),
        GuardrailAction::GuardrailIntervened => (RED, "GUARDRAIL_INTERVENED"),
    };
    println!("action: {style}{verdict}{style:#}");
    if let Some(reason) = &r.action_reason {
        println!("reason: {reason}");
    }
    for u in g.unavailable_filters() {
        println!("unavailable (fails closed): {u}");
    }
    if rows > 0 {
        println!("{table}");
    } else {
        println!("no findings");
    }
    let output = r
        .outputs
        .first()
        .and_then(|o| o.text.as_deref())
        .unwrap_or(text);
    println!("output:");
    println!("{output}");
}

// ---------------------------------------------------------------- eval

#[derive(Deserialize)]
struct Line {
    text: String,
    /// `Some(None)` for an explicit `"label": null` (a negative text).
    #[serde(default, deserialize_with = "present")]
    label: Option<Option<String>>,
    #[serde(default)]
    spans: Option<Vec<Span>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Span {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    span_type: String,
}

/// Confusion counts of one filter or entity type. For span-annotated data,
/// `tp`/`fp` count predicted spans, `gold`/`found` gold spans, and the
/// false-positive rate is over texts without a gold span of the type.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub negatives: u64,
    pub negatives_flagged: u64,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    tp: u64,
    fp: u64,
    #[serde(rename = "fn")]
    fn_: u64,
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
    fpr: Option<f64>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn row(name: &str, c: &Counts) -> Row {
    let precision = ratio(c.tp, c.tp + c.fp);
    let recall = ratio(c.tp, c.tp + c.fn_);
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    Row {
        name: name.to_string(),
        tp: c.tp,
        fp: c.fp,
        fn_: c.fn_,
        precision,
        recall,
        f1,
        fpr: ratio(c.negatives_flagged, c.negatives),
    }
}

/// What the guardrail flagged in a labelled text: filter types, topic
/// names, entity types, regex names, word lists.
fn flagged(g: &CompiledGuardrail, applied: &Applied) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in &applied.findings {
        out.insert(describe(g, &f.kind).1);
    }
    for a in &applied.response.assessments {
        if let Some(c) = &a.content_policy {
            for f in c.filters.iter().filter(|f| f.detected != Some(false)) {
                out.insert(wire(&f.filter_type));
            }
        }
        if let Some(t) = &a.topic_policy {
            for f in t.topics.iter().filter(|f| f.detected != Some(false)) {
                out.insert(f.name.clone());
            }
        }
        if let Some(c) = &a.contextual_grounding_policy {
            for f in c.filters.iter().flatten() {
                if f.detected != Some(false) {
                    out.insert(wire(&f.filter_type));
                }
            }
        }
    }
    out
}

/// Per-type counts over a data set, and the number of lines.
#[derive(Default)]
struct Tally {
    labelled: BTreeMap<String, Counts>,
    spans: BTreeMap<String, Counts>,
    /// Per line, for labelled data: (gold label, flagged set).
    label_lines: Vec<(Option<String>, BTreeSet<String>)>,
    lines: u64,
}

fn span_counts(tally: &mut Tally, gold: &[Span], pred: &[Finding], g: &CompiledGuardrail) {
    let pred: Vec<(usize, usize, String)> = pred
        .iter()
        .map(|f| (f.start, f.end, describe(g, &f.kind).1))
        .collect();
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    let mut types: BTreeSet<&str> = gold.iter().map(|s| s.span_type.as_str()).collect();
    types.extend(pred.iter().map(|p| p.2.as_str()));
    for t in types {
        let c = tally.spans.entry(t.to_string()).or_default();
        let gold_t: Vec<(usize, usize)> = gold
            .iter()
            .filter(|s| s.span_type == t)
            .map(|s| (s.start, s.end))
            .collect();
        let pred_t: Vec<(usize, usize)> = pred
            .iter()
            .filter(|p| p.2 == t)
            .map(|p| (p.0, p.1))
            .collect();
        for p in &pred_t {
            if gold_t.iter().any(|gs| overlaps(*p, *gs)) {
                c.tp += 1;
            } else {
                c.fp += 1;
            }
        }
        for gs in &gold_t {
            if !pred_t.iter().any(|p| overlaps(*p, *gs)) {
                c.fn_ += 1;
            }
        }
    }
}

fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let g = load(&a.guardrail)?;
    let source: Source = a.source.into();
    let file = std::fs::File::open(&a.data)
        .with_context(|| format!("cannot read data set {}", a.data.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if a.json || size < 256 * 1024 || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "evaluating {bar:40} {binary_bytes}/{binary_total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    };
    let mut tally = Tally::default();
    let mut span_texts: Vec<(BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    let reader = std::io::BufReader::new(file);
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("{}:{n}: cannot read", a.data.display()))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}:{n}: malformed line", a.data.display()))?;
        tally.lines += 1;
        match (parsed.label, parsed.spans) {
            (Some(_), Some(_)) => bail!(
                "{}:{n}: malformed line: has both \"label\" and \"spans\"",
                a.data.display()
            ),
            (None, None) => bail!(
                "{}:{n}: malformed line: needs \"label\" (a name or null) or \"spans\"",
                a.data.display()
            ),
            (Some(label), None) => {
                let applied = g.apply_detailed(
                    source,
                    &[ContentBlock::text(parsed.text)],
                    OutputScope::Full,
                );
                tally.label_lines.push((label, flagged(&g, &applied)));
            }
            (None, Some(spans)) => {
                for s in &spans {
                    if s.start >= s.end
                        || !parsed.text.is_char_boundary(s.start)
                        || !parsed.text.is_char_boundary(s.end)
                        || s.end > parsed.text.len()
                    {
                        bail!(
                            "{}:{n}: malformed line: span {}..{} is not a character range of the text ({} bytes)",
                            a.data.display(),
                            s.start,
                            s.end,
                            parsed.text.len()
                        );
                    }
                }
                let pred = g.scan_text(source, &parsed.text);
                let gold_types = spans.iter().map(|s| s.span_type.clone()).collect();
                let pred_types = pred.iter().map(|f| describe(&g, &f.kind).1).collect();
                span_counts(&mut tally, &spans, &pred, &g);
                span_texts.push((gold_types, pred_types));
            }
        }
    }
    bar.finish_and_clear();

    // Labelled texts: one decision per text and label.
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (gold, flags) in &tally.label_lines {
        names.extend(gold.iter().cloned());
        names.extend(flags.iter().cloned());
    }
    for name in &names {
        let c = tally.labelled.entry(name.clone()).or_default();
        for (gold, flags) in &tally.label_lines {
            let is = gold.as_deref() == Some(name.as_str());
            let hit = flags.contains(name);
            match (is, hit) {
                (true, true) => c.tp += 1,
                (true, false) => c.fn_ += 1,
                (false, true) => {
                    c.fp += 1;
                    c.negatives += 1;
                    c.negatives_flagged += 1;
                }
                (false, false) => c.negatives += 1,
            }
        }
    }
    // Span texts: false-positive rate over texts without a gold span of the type.
    for (name, c) in tally.spans.iter_mut() {
        for (gold, pred) in &span_texts {
            if !gold.contains(name) {
                c.negatives += 1;
                if pred.contains(name) {
                    c.negatives_flagged += 1;
                }
            }
        }
    }

    let mut rows = Vec::new();
    let mut total = Counts::default();
    for (name, c) in tally.labelled.iter().chain(tally.spans.iter()) {
        rows.push(row(name, c));
        total.tp += c.tp;
        total.fp += c.fp;
        total.fn_ += c.fn_;
        total.negatives += c.negatives;
        total.negatives_flagged += c.negatives_flagged;
    }
    let total = row("TOTAL", &total);
    if a.json {
        let out = serde_json::json!({
            "lines": tally.lines,
            "labelledTexts": tally.label_lines.len(),
            "spanTexts": span_texts.len(),
            "types": rows,
            "total": total,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
        table.set_header([
            "filter / type",
            "TP",
            "FP",
            "FN",
            "precision",
            "recall",
            "F1",
            "FP rate",
        ]);
        let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
        for r in rows.iter().chain(std::iter::once(&total)) {
            table.add_row(vec![
                r.name.clone(),
                r.tp.to_string(),
                r.fp.to_string(),
                r.fn_.to_string(),
                f(r.precision),
                f(r.recall),
                f(r.f1),
                f(r.fpr),
            ]);
        }
        println!(
            "{} lines ({} labelled, {} span-annotated)",
            tally.lines,
            tally.label_lines.len(),
            span_texts.len()
        );
        println!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}
