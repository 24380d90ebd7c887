//! `sekisho keys`: the customer managed keys of a stopped gateway's data
//! directory: list them, create one, rotate one. (With the gateway
//! running, use the KMS API: `aws kms create-key`, `rotate-key-on-demand`.)
//!
//! Every change is recorded in the audit trail like an API call; the
//! trail's directory lock also tells whether a gateway is running.

use std::path::PathBuf;
use std::process::ExitCode;

use anstream::println;
use sekisho_gateway::config::Config;
use sekisho_gateway::startup::Offline;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Every key of every region, with its state and aliases.
    List(Common),
    /// A new symmetric key (AES-256-GCM) with the default key policy.
    Create(CreateArgs),
    /// A new key material version now; older ciphertexts stay readable.
    Rotate(RotateArgs),
}

#[derive(clap::Args)]
pub struct Common {
    /// The gateway's configuration (for data_dir, master_key_file, regions).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The key's description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// An alias for the key (`alias/name`).
    #[arg(long)]
    pub alias: Option<String>,
    /// The region (default: the first served region).
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The key: id, ARN, alias name or alias ARN.
    pub key: String,
    /// The region (default: the first served region).
    #[arg(long)]
    pub region: Option<String>,
}

fn open(common: &Common) -> anyhow::Result<Offline> {
    let config = match &common.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    Offline::open(config).map_err(|e| anyhow::anyhow!(e))
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::List(c) => {
            let offline = open(&c)?;
            let keys = offline.kms.summaries();
            if c.json {
                println!("{}", serde_json::Value::Array(keys));
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
            table.set_header([
                "key id",
                "region",
                "state",
                "aliases",
                "versions",
                "description",
            ]);
            for k in &keys {
                let aliases: Vec<&str> = k["Aliases"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                table.add_row(vec![
                    k["KeyId"].as_str().unwrap_or("").to_string(),
                    k["Region"].as_str().unwrap_or("").to_string(),
                    k["KeyState"].as_str().unwrap_or("").to_string(),
                    aliases.join(", "),
                    k["MaterialVersions"].to_string(),
                    k["Description"].as_str().unwrap_or("").to_string(),
                ]);
            }
            println!("{table}");
            println!("{} key(s)", keys.len());
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Create(a) => {
            let offline = open(&a.common)?;
            let region = a
                .region
                .clone()
                .unwrap_or_else(|| offline.home_region.clone());
            let meta = offline
                .create_key(&region, &a.description, a.alias.as_deref())
                .map_err(|e| anyhow::anyhow!(e))?;
            if a.common.json {
                println!("{meta}");
            } else {
                println!(
                    "created {} ({})",
                    meta["KeyId"].as_str().unwrap_or(""),
                    meta["Arn"].as_str().unwrap_or("")
                );
            }
            offline.close().map_err(|e| anyhow::anyhow!(e))?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate(a) => {
            let offline = open(&a.common)?;
            let region = a
                .region
                .clone()
                .unwrap_or_else(|| offline.home_region.clone());
            let id = offline
                .rotate_key(&region, &a.key)
                .map_err(|e| anyhow::anyhow!(e))?;
            if a.common.json {
                println!("{}", serde_json::json!({ "KeyId": id }));
            } else {
                println!(
                    "rotated {id}: new material is used from now on; older ciphertexts stay readable"
                );
            }
            offline.close().map_err(|e| anyhow::anyhow!(e))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
