//! `sekisho audit`: verify the signed chain of the audit log, ask who did
//! what and when, follow new records.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anstream::println;
use anstyle::{AnsiColor, Style};
use sekisho_audit::query::{LookupAttribute, LookupFilter, StoredEvent};
use sekisho_audit::signer::public_key_from_pem;
use sekisho_audit::{Event, verify_with_progress};
use time::OffsetDateTime;

const RED: Style = AnsiColor::Red.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the digest chain and every log file, as `aws cloudtrail
    /// validate-logs` does; names every changed, deleted, inserted or
    /// reordered file and every gap. Exit code 1 when anything is wrong.
    Verify(VerifyArgs),
    /// Who did what, and when: the matching records, newest first.
    Query(QueryArgs),
    /// The newest records; with --follow, new ones as they are written.
    Tail(TailArgs),
}

#[derive(clap::Args)]
pub struct Location {
    /// The data directory (its `audit/` holds the event history).
    #[arg(long, value_name = "DIR", default_value = ".sekisho")]
    pub data_dir: PathBuf,
    /// A journal directory to read instead (a trail's delivery directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl Location {
    fn journal(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit"))
    }
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub location: Location,
    /// The signing key's public half (PEM); default: public-key.pem in the
    /// journal directory. Keep a copy elsewhere: a key beside the logs
    /// proves only that the logs agree with it.
    #[arg(long, value_name = "PEM")]
    pub public_key: Option<PathBuf>,
    /// Only digests and files from this time (RFC 3339 or 2h / 3d ago).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only digests and files up to this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub location: Location,
    /// A user name, ARN (or part of one) or access key id.
    #[arg(long, value_name = "WHO")]
    pub who: Option<String>,
    /// An event name (`Converse`, `CreateKey`...) or event source (`kms`).
    #[arg(long, value_name = "WHAT")]
    pub what: Option<String>,
    /// From this time (RFC 3339, or 30m / 2h / 7d ago).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Up to this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only refused requests (with an error code).
    #[arg(long)]
    pub errors: bool,
    /// Print one JSON record per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub location: Location,
    /// How many of the newest records to print first.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub lines: usize,
    /// Keep printing new records as they are written.
    #[arg(short, long)]
    pub follow: bool,
    /// Print one JSON record per line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Query(a) => query(a),
        AuditCommand::Tail(a) => tail(a),
    }
}

/// RFC 3339, or a span back from now: `30s`, `15m`, `2h`, `7d`.
pub fn parse_time(text: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = digits.parse().map_err(|_| {
        anyhow::anyhow!(
            "'{text}' is not a time: use RFC 3339 (2026-11-26T09:00:00Z) or a span like 30m, 2h, 7d"
        )
    })?;
    let span = match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => anyhow::bail!("'{text}' is not a time: the unit must be s, m, h or d"),
    };
    Ok(now - span)
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let dir = a.location.journal();
    let key_path = a
        .public_key
        .clone()
        .unwrap_or_else(|| dir.join("public-key.pem"));
    let pem = std::fs::read(&key_path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the public key {}: {e} (pass --public-key, or check --data-dir / --dir)",
            key_path.display()
        )
    })?;
    let key = public_key_from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 public key: {e}", key_path.display()))?;
    let now = OffsetDateTime::now_utc();
    let range = match (&a.from, &a.to) {
        (None, None) => None,
        (from, to) => Some((
            from.as_deref()
                .map(|t| parse_time(t, now))
                .transpose()?
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            to.as_deref()
                .map(|t| parse_time(t, now))
                .transpose()?
                .unwrap_or(now),
        )),
    };
    let bar = if a.json {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "verifying {bar:40} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    };
    let started = std::time::Instant::now();
    let report = verify_with_progress(&dir, &key, range, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|e| anyhow::anyhow!("cannot verify {}: {e}", dir.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if a.json {
        let findings: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "kind": f.kind.label(),
                    "problem": f.kind.is_problem(),
                    "path": f.path,
                    "detail": f.detail,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "valid": report.valid,
                "digests_checked": report.digests_checked,
                "files_checked": report.files_checked,
                "bytes_checked": report.bytes_checked,
                "seconds": elapsed.as_secs_f64(),
                "findings": findings,
            })
        );
    } else {
        let (style, word) = if report.valid {
            (GREEN, "VALID")
        } else {
            (RED, "INVALID")
        };
        println!(
            "{style}{word}{style:#}: {} digests, {} log files, {} bytes checked in {:.2} s ({})",
            report.digests_checked,
            report.files_checked,
            report.bytes_checked,
            elapsed.as_secs_f64(),
            dir.display()
        );
        for f in &report.findings {
            let style = if f.kind.is_problem() { RED } else { DIM };
            println!(
                "  {style}{:<22}{style:#} {}  {}",
                f.kind.label(),
                f.path,
                f.detail
            );
        }
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn who_matches(e: &Event, who: &str) -> bool {
    let u = &e.user_identity;
    [
        u.user_name.as_deref(),
        u.arn.as_deref(),
        u.access_key_id.as_deref(),
        u.principal_id.as_deref(),
        e.username(),
    ]
    .into_iter()
    .flatten()
    .any(|v| v == who || v.contains(who))
}

fn what_matches(e: &Event, what: &str) -> bool {
    e.event_name.eq_ignore_ascii_case(what)
        || e.event_source == what
        || e.event_source.split('.').next() == Some(what)
}

fn query(a: QueryArgs) -> anyhow::Result<ExitCode> {
    let dir = a.location.journal();
    let now = OffsetDateTime::now_utc();
    let filter = LookupFilter {
        // An exact access key id narrows the scan in the library; other
        // "who" forms are matched here.
        attribute: a
            .who
            .as_deref()
            .filter(|w| w.starts_with("AKIA") || w.starts_with("ASIA"))
            .map(|w| LookupAttribute::AccessKeyId(w.to_string())),
        start_time: a.since.as_deref().map(|t| parse_time(t, now)).transpose()?,
        end_time: a.until.as_deref().map(|t| parse_time(t, now)).transpose()?,
    };
    let mut token: Option<String> = None;
    let mut found: Vec<StoredEvent> = Vec::new();
    loop {
        let page = sekisho_audit::query::lookup(&dir, None, &filter, 50, token.as_deref())
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
        for e in page.events {
            let ev = &e.event;
            if a.who.as_deref().is_some_and(|w| !who_matches(ev, w))
                || a.what.as_deref().is_some_and(|w| !what_matches(ev, w))
                || (a.errors && ev.error_code.is_none())
            {
                continue;
            }
            found.push(e);
            if found.len() >= a.limit {
                break;
            }
        }
        token = page.next_token;
        if token.is_none() || found.len() >= a.limit {
            break;
        }
    }
    print_events(&found, a.json);
    Ok(ExitCode::SUCCESS)
}

fn print_events(events: &[StoredEvent], json: bool) {
    if json {
        for e in events {
            println!("{}", e.json);
        }
        return;
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    table.set_header(["time (UTC)", "who", "what", "resource", "from", "result"]);
    for e in events {
        let ev = &e.event;
        let who = ev
            .username()
            .map(str::to_string)
            .or_else(|| ev.user_identity.arn.clone())
            .or_else(|| ev.user_identity.access_key_id.clone())
            .unwrap_or_else(|| "-".into());
        let what = format!(
            "{}:{}",
            ev.event_source.split('.').next().unwrap_or(""),
            ev.event_name
        );
        let resource = ev
            .resources
            .first()
            .and_then(|r| r.arn.clone())
            .unwrap_or_default();
        let result = match &ev.error_code {
            Some(code) => comfy_table::Cell::new(code).fg(comfy_table::Color::Red),
            None => comfy_table::Cell::new("ok").fg(comfy_table::Color::Green),
        };
        table.add_row(vec![
            comfy_table::Cell::new(sekisho_audit::timefmt::iso(ev.event_time)),
            comfy_table::Cell::new(who),
            comfy_table::Cell::new(what),
            comfy_table::Cell::new(resource),
            comfy_table::Cell::new(ev.source_ip_address.clone().unwrap_or_default()),
            result,
        ]);
    }
    println!("{table}");
    println!("{} record(s)", events.len());
}

fn tail(a: TailArgs) -> anyhow::Result<ExitCode> {
    let dir = a.location.journal();
    let filter = LookupFilter::default();
    let newest = sekisho_audit::query::lookup(&dir, None, &filter, a.lines.clamp(1, 50), None)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
    let mut first: Vec<StoredEvent> = newest.events;
    first.reverse();
    print_events(&first, a.json);
    if !a.follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut position = sekisho_audit::query::tail_end(&dir);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let batch = sekisho_audit::query::read_events_since(&dir, None, position.as_ref(), 1000)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
        if !batch.events.is_empty() {
            print_events(&batch.events, a.json);
        }
        if batch.position.is_some() {
            position = batch.position;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert_eq!(
            parse_time("2h", now).unwrap(),
            now - time::Duration::hours(2)
        );
        assert!(parse_time("2026-11-26T00:00:00Z", now).is_ok());
        assert!(parse_time("soon", now).is_err());
        assert!(parse_time("3w", now).is_err());
    }
}
