//! `sekisho policy validate`: check policy documents the way IAM Access
//! Analyzer's policy validation does.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use sekisho_policy::lint::{Finding, PolicyType, Severity, validate};
use serde::Serialize;

/// Largest file read; anything larger is reported without being read.
const MAX_READ: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeArg {
    /// Attached to a user, group or role.
    Identity,
    /// Attached to a resource (bucket, key, guardrail...).
    Resource,
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
    /// A role's trust policy.
    Trust,
    /// A permissions boundary.
    Boundary,
    /// A session policy.
    Session,
    /// A VPC endpoint policy.
    Endpoint,
}

impl From<TypeArg> for PolicyType {
    fn from(t: TypeArg) -> PolicyType {
        match t {
            TypeArg::Identity => PolicyType::Identity,
            TypeArg::Resource => PolicyType::Resource,
            TypeArg::Scp => PolicyType::ServiceControl,
            TypeArg::Rcp => PolicyType::ResourceControl,
            TypeArg::Trust => PolicyType::Trust,
            TypeArg::Boundary => PolicyType::Boundary,
            TypeArg::Session => PolicyType::Session,
            TypeArg::Endpoint => PolicyType::Endpoint,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings for people, grouped by file.
    Text,
    /// A JSON array of {file, code, severity, message, path, line, column, fix}.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    /// Colour when standard output is a terminal (and NO_COLOR is unset).
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
#[command(after_help = "\
Exit status: 0 when no file has an ERROR finding, 1 when one has, 2 when a
file cannot be read or the arguments are wrong. Every finding code is
described in docs/policy-validation.md.

Examples:
  sekisho policy validate policy.json
  sekisho policy validate --type scp deny-regions.json require-guardrail.json
  sekisho policy validate --type trust --format json role-trust.json
  cat policy.json | sekisho policy validate -")]
pub struct Args {
    /// Policy documents to check; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Where the documents are used, which decides what they may contain.
    #[arg(long = "type", short = 't', value_enum, default_value = "identity")]
    pub policy_type: TypeArg,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// When to colour the text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
}

/// One finding of one file, as `--format json` prints it.
#[derive(Serialize)]
struct Row<'a> {
    file: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// The findings of one file, or why it could not be read.
struct Checked {
    name: String,
    result: Result<Vec<Finding>, String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.color {
        ColorArg::Auto => {}
        ColorArg::Always => anstream::ColorChoice::Always.write_global(),
        ColorArg::Never => anstream::ColorChoice::Never.write_global(),
    }
    let ty = PolicyType::from(args.policy_type);
    let mut stdin_used = false;
    let checked: Vec<Checked> = args
        .files
        .iter()
        .map(|path| {
            let is_stdin = path.as_os_str() == "-";
            let name = if is_stdin {
                "<stdin>".to_string()
            } else {
                path.display().to_string()
            };
            let result = if is_stdin && std::mem::replace(&mut stdin_used, true) {
                Err("standard input can be read only once".to_string())
            } else {
                read(path, is_stdin).map(|bytes| match bytes {
                    Input::Bytes(b) => validate(&b, ty),
                    Input::TooLarge(size) => vec![too_large(size)],
                })
            };
            Checked { name, result }
        })
        .collect();

    let io_errors = checked.iter().filter(|c| c.result.is_err()).count();
    let any_error = checked.iter().any(|c| {
        c.result
            .as_ref()
            .is_ok_and(|f| f.iter().any(|f| f.severity == Severity::Error))
    });
    match args.format {
        Format::Json => print_json(&checked)?,
        Format::Text => print_text(&checked, ty),
    }
    for c in &checked {
        if let Err(e) = &c.result {
            eprintln!("error: {e}");
        }
    }
    Ok(if io_errors > 0 {
        ExitCode::from(2)
    } else if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

enum Input {
    Bytes(Vec<u8>),
    TooLarge(u64),
}

fn read(path: &std::path::Path, is_stdin: bool) -> Result<Input, String> {
    if is_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_READ + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(if bytes.len() as u64 > MAX_READ {
            Input::TooLarge(bytes.len() as u64)
        } else {
            Input::Bytes(bytes)
        });
    }
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {}", io_reason(&e)))?;
    if meta.is_dir() {
        return Err(format!(
            "cannot read {shown}: it is a directory; name the policy files in it"
        ));
    }
    if meta.len() > MAX_READ {
        return Ok(Input::TooLarge(meta.len()));
    }
    std::fs::read(path)
        .map(Input::Bytes)
        .map_err(|e| format!("cannot read {shown}: {}", io_reason(&e)))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn too_large(size: u64) -> Finding {
    Finding {
        code: "POLICY_TOO_LARGE",
        severity: Severity::Error,
        message: format!(
            "The document is {size} bytes; it was not read (AWS policies are at most a few tens of KiB)."
        ),
        path: String::new(),
        line: 1,
        column: 1,
        fix: "Check that this is the policy document meant; split a large policy into several."
            .to_string(),
    }
}

fn print_json(checked: &[Checked]) -> anyhow::Result<()> {
    let rows: Vec<Row<'_>> = checked
        .iter()
        .filter_map(|c| c.result.as_ref().ok().map(|f| (c, f)))
        .flat_map(|(c, findings)| {
            findings.iter().map(|finding| Row {
                file: &c.name,
                finding,
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &rows)?;
    writeln!(out)?;
    Ok(())
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => AnsiColor::Red.on_default().bold(),
        Severity::SecurityWarning => AnsiColor::Magenta.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default(),
        Severity::Suggestion => AnsiColor::Cyan.on_default(),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_text(checked: &[Checked], ty: PolicyType) {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut counts = [0usize; 4];
    for c in checked {
        let Ok(findings) = &c.result else {
            continue;
        };
        if findings.is_empty() {
            anstream::println!("{bold}{}{bold:#}: no findings ({ty} policy)", c.name);
            continue;
        }
        anstream::println!("{bold}{}{bold:#} ({ty} policy)", c.name);
        let loc_width = findings
            .iter()
            .map(|f| format!("{}:{}", f.line, f.column).len())
            .max()
            .unwrap_or(3);
        let indent = " ".repeat(loc_width + 4);
        for f in findings {
            counts[f.severity as usize] += 1;
            let style = severity_style(f.severity);
            let loc = format!("{}:{}", f.line, f.column);
            let at = if f.path.is_empty() {
                String::new()
            } else {
                format!("  {dim}{}{dim:#}", f.path)
            };
            anstream::println!(
                "  {loc:>loc_width$}  {style}{:<16}{style:#} {bold}{}{bold:#}{at}",
                f.severity.as_str(),
                f.code,
            );
            anstream::println!("{indent}{}", f.message);
            anstream::println!("{indent}{dim}fix:{dim:#} {}", f.fix);
        }
        anstream::println!();
    }
    let files = checked.iter().filter(|c| c.result.is_ok()).count();
    let unreadable = checked.len() - files;
    let [e, s, w, g] = counts;
    let mut summary = format!(
        "{} checked: {}, {}, {}, {}",
        plural(files, "file", "files"),
        plural(e, "error", "errors"),
        plural(s, "security warning", "security warnings"),
        plural(w, "warning", "warnings"),
        plural(g, "suggestion", "suggestions"),
    );
    if unreadable > 0 {
        summary.push_str(&format!(
            "; {} not readable",
            plural(unreadable, "file", "files")
        ));
    }
    let style = if e > 0 || unreadable > 0 {
        severity_style(Severity::Error)
    } else {
        bold
    };
    anstream::println!("{style}{summary}{style:#}");
}
