//! `sekisho policy simulate`: decide one request from flags, or run a file
//! of decision or operator test cases.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstream::println;
use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, bail};
use sekisho_policy::cases::{CaseResult, read_case_file, run_all};
use sekisho_policy::eval::{PolicySet, Request, evaluate};
use sekisho_policy::{Context, Outcome, Policy, Principal};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  sekisho policy simulate --cases examples/seed-decisions.json
  sekisho policy simulate --principal arn:aws:iam::123456789012:user/alice \\
      --action bedrock:InvokeModel \\
      --resource arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 \\
      --identity policy.json --scp-level root-scps.json --context aws:RequestedRegion=us-east-1")]
pub struct Args {
    /// Run every case of a file in the iam-decision-cases/v0 or
    /// iam-operator-cases/v0 format.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["principal", "action", "resource"])]
    pub cases: Option<PathBuf>,

    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// The caller: an IAM ARN (user, role, assumed-role session,
    /// federated user), a service such as bedrock.amazonaws.com, or
    /// `anonymous`.
    #[arg(long, required_unless_present = "cases")]
    pub principal: Option<String>,
    /// The IAM action, such as bedrock:InvokeModel.
    #[arg(long, required_unless_present = "cases")]
    pub action: Option<String>,
    /// The resource ARN, or `*`.
    #[arg(long, default_value = "*")]
    pub resource: Option<String>,
    /// The account that owns the resource (default: the caller's).
    #[arg(long, value_name = "ACCOUNT")]
    pub resource_account: Option<String>,
    /// A context key: KEY=VALUE; repeat a key to make it multivalued.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,

    /// Identity-based policy files (repeatable).
    #[arg(long = "identity", value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Permissions boundary file.
    #[arg(long = "boundary", value_name = "FILE")]
    pub boundary: Vec<PathBuf>,
    /// Session policy files.
    #[arg(long = "session", value_name = "FILE")]
    pub session: Vec<PathBuf>,
    /// Resource-based policy file (key policy, trust policy, ...).
    #[arg(long = "resource-policy", value_name = "FILE")]
    pub resource_policy: Option<PathBuf>,
    /// SCPs of one organization level, comma-separated files; repeat per
    /// level, root first.
    #[arg(long = "scp-level", value_name = "FILE[,FILE]")]
    pub scp_levels: Vec<String>,
    /// RCPs of one organization level, comma-separated files; repeat per
    /// level, root first.
    #[arg(long = "rcp-level", value_name = "FILE[,FILE]")]
    pub rcp_levels: Vec<String>,
    /// VPC endpoint policy files (the request came through the endpoint).
    #[arg(long = "endpoint-policy", value_name = "FILE")]
    pub endpoint: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match &args.cases {
        Some(path) => run_cases(path, args.json),
        None => run_one(&args),
    }
}

fn run_cases(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the case file {}", path.display()))?;
    let file = read_case_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let results = run_all(&file);
    let failed = results.iter().filter(|r| !r.passed && !r.disputed).count();
    let disputed = results.iter().filter(|r| r.disputed).count();
    let passed = results.len() - failed - disputed;
    if json {
        let out = serde_json::json!({
            "file": path.display().to_string(),
            "passed": passed,
            "failed": failed,
            "disputed": disputed,
            "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &results {
            print_case(r);
        }
        if disputed > 0 {
            println!("{disputed} disputed (reported, not counted)");
        }
        println!("{passed} passed, {failed} failed");
    }
    std::io::stdout().flush().ok();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

const GREEN: Style = AnsiColor::Green.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const DIM: Style = Style::new().dimmed();

fn print_case(r: &CaseResult) {
    let (label, style) = match (r.passed, r.disputed) {
        (_, true) => ("DISPUTED", YELLOW),
        (true, false) => ("PASS", GREEN),
        (false, false) => ("FAIL", RED),
    };
    let expected = if r.passed {
        String::new()
    } else {
        format!(" (expected {})", r.expected)
    };
    println!(
        "{style}{label:<8}{style:#} {} {DIM}{}{DIM:#}: {}{expected} {DIM}— {}{DIM:#}",
        r.name, r.id, r.actual, r.explanation
    );
}

fn load(path: &Path) -> anyhow::Result<Policy> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the policy file {}", path.display()))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Policy::parse(&bytes)
        .map(|p| p.named(name))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn load_levels(levels: &[String]) -> anyhow::Result<Vec<Vec<Policy>>> {
    levels
        .iter()
        .map(|level| {
            level
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|f| load(Path::new(f)))
                .collect()
        })
        .collect()
}

fn run_one(args: &Args) -> anyhow::Result<ExitCode> {
    let (Some(principal), Some(action)) = (&args.principal, &args.action) else {
        bail!("give --principal and --action (or --cases FILE)");
    };
    let principal = Principal::parse(principal).map_err(|e| anyhow::anyhow!("--principal: {e}"))?;
    let resource = args.resource.clone().unwrap_or_else(|| "*".into());
    let mut context = Context::new();
    let mut multi: Vec<(String, Vec<String>)> = Vec::new();
    for kv in &args.context {
        let Some((k, v)) = kv.split_once('=') else {
            bail!(
                "--context '{kv}': expected KEY=VALUE, for example aws:RequestedRegion=us-east-1"
            );
        };
        match multi
            .iter_mut()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
        {
            Some((_, values)) => values.push(v.to_string()),
            None => multi.push((k.to_string(), vec![v.to_string()])),
        }
    }
    for (k, mut values) in multi {
        if values.len() == 1 {
            context.insert(&k, values.remove(0));
        } else {
            context.insert_multi(&k, values);
        }
    }
    let identity = args
        .identity
        .iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let boundaries = args
        .boundary
        .iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let session = args
        .session
        .iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let resource_policy = args.resource_policy.as_deref().map(load).transpose()?;
    let scps = load_levels(&args.scp_levels)?;
    let rcps = load_levels(&args.rcp_levels)?;
    let endpoint = args
        .endpoint
        .iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let set = PolicySet {
        scps: scps.iter().map(|l| l.iter().collect()).collect(),
        rcps: rcps.iter().map(|l| l.iter().collect()).collect(),
        identity: identity.iter().collect(),
        boundaries: boundaries.iter().collect(),
        session: session.iter().collect(),
        resource: resource_policy.as_ref(),
        endpoint: endpoint.iter().collect(),
    };
    let request = Request {
        principal: &principal,
        action,
        resource: &resource,
        resource_account: args.resource_account.as_deref(),
        context: &context,
    };
    let decision = evaluate(&request, &set);
    if args.json {
        let statements: Vec<_> = decision
            .statements
            .iter()
            .map(|h| {
                serde_json::json!({
                    "layer": h.layer.code(),
                    "level": h.level,
                    "policy": h.policy.label(),
                    "statementIndex": h.statement.index,
                    "sid": h.statement.sid,
                    "effect": h.statement.effect.to_string(),
                })
            })
            .collect();
        let misses: Vec<_> = decision
            .near_misses
            .iter()
            .map(|m| {
                serde_json::json!({
                    "layer": m.hit.layer.code(),
                    "policy": m.hit.policy.label(),
                    "statementIndex": m.hit.statement.index,
                    "sid": m.hit.statement.sid,
                    "operator": m.condition.operator.name(),
                    "key": m.condition.key,
                })
            })
            .collect();
        let out = serde_json::json!({
            "decision": decision.outcome.name(),
            "blockedBy": decision.blocked_by.iter().map(|l| l.code()).collect::<Vec<_>>(),
            "statements": statements,
            "failedConditions": misses,
            "explanation": decision.explain(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let style = match decision.outcome {
            Outcome::Allowed => GREEN,
            Outcome::ImplicitlyDenied => YELLOW,
            Outcome::ExplicitlyDenied => RED,
        };
        println!(
            "{style}{}{style:#}: {}",
            decision.outcome,
            decision.explain()
        );
    }
    Ok(if decision.outcome.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
