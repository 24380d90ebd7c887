//! `sekisho serve`: run the gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use anstream::{eprintln, println};
use anstyle::{AnsiColor, Style};
use sekisho_gateway::config::Config;
use sekisho_gateway::startup;

#[derive(clap::Args)]
pub struct Args {
    /// A TOML configuration file (see docs/configuration.md); without it,
    /// the embedded default: data in ./.sekisho, HTTPS on 127.0.0.1:8443.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

const BOLD: Style = Style::new().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEKISHO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }

    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = match startup::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        let dir = std::fs::canonicalize(&running.data_dir.path).unwrap_or_else(|_| running.data_dir.path.clone());
        println!("{GREEN}Sekisho is running{GREEN:#} for account {BOLD}{}{BOLD:#}", running.data_dir.account_id);
        for addr in &running.addrs {
            println!("  listening on https://{addr}");
        }
        if let Some(key) = &running.admin_key_id {
            println!(
                "  created the admin user; its access key {key} is in {}",
                dir.join("credentials").display()
            );
        }
        println!();
        println!("Use it with the AWS CLI or boto3:");
        println!(
            "  export AWS_CONFIG_FILE={} AWS_SHARED_CREDENTIALS_FILE={} AWS_PROFILE={} AWS_CA_BUNDLE={}",
            dir.join("config").display(),
            dir.join("credentials").display(),
            startup::PROFILE,
            dir.join("ca.pem").display()
        );
        println!("  aws sts get-caller-identity");
        if let Some(warning) = &running.master_warning {
            eprintln!();
            eprintln!("{YELLOW}warning{YELLOW:#}: {warning}");
        }
        let gateway = running.gateway.clone();
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            () = running.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        println!("stopping: sealing the audit log files");
        if let Err(e) = gateway.audit.seal_all() {
            eprintln!("error: the audit log could not be sealed: {e} (the next start recovers it)");
            return Ok(ExitCode::from(1));
        }
        Ok(ExitCode::SUCCESS)
    })
}
