//! `lmnop secret …`: set, list and remove function secrets (docker runtime). Values are read
//! from standard input and never printed.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::{StoreArgs, StoreConfig};
use crate::db::audit::{self, AuditEntry};
use crate::domain::{Secret, SecretName};
use crate::secrets::{MAX_SECRET_BYTES, SecretStore};

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Create or replace a secret; the value is read from standard input (one trailing newline
    /// is dropped).
    Set {
        /// 1 to 63 characters: lowercase letters, digits and '-', not starting or ending with '-'.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List secret names (values are never shown).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a secret.
    Rm {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: SecretCommand) -> anyhow::Result<ExitCode> {
    match command {
        SecretCommand::Set { name, store } => {
            let name = SecretName::parse(&name)?;
            let value = read_value()?;
            let (secrets, db) = open(store).await?;
            let replaced = secrets.set(&name, &value)?;
            record(&db, "secret.set", &name).await?;
            println!(
                "{} secret {name}",
                if replaced { "replaced" } else { "created" }
            );
        }
        SecretCommand::List { store } => {
            let (secrets, _) = open(store).await?;
            for name in secrets.list()? {
                println!("{name}");
            }
        }
        SecretCommand::Rm { name, store } => {
            let name = SecretName::parse(&name)?;
            let (secrets, db) = open(store).await?;
            secrets.remove(&name)?;
            record(&db, "secret.rm", &name).await?;
            println!("removed secret {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_value() -> anyhow::Result<Secret> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES as u64 + 3)
        .read_to_end(&mut bytes)
        .context("cannot read the secret from standard input")?;
    let mut text =
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the secret must be UTF-8 text"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    anyhow::ensure!(
        !text.is_empty(),
        "no value on standard input; pipe it in, e.g. `printf %s \"$VALUE\" | lmnop secret set NAME`"
    );
    Ok(Secret::new(text))
}

async fn open(store: StoreArgs) -> anyhow::Result<(SecretStore, crate::db::Db)> {
    let store = StoreConfig::from_args(store)?;
    let db = super::open(&store).await?;
    crate::store::prepare_data_dir(&store.data_dir)?;
    Ok((SecretStore::new(&store.data_dir), db))
}

async fn record(db: &crate::db::Db, action: &str, name: &SecretName) -> anyhow::Result<()> {
    audit::record(
        db,
        &AuditEntry {
            actor: "cli".to_owned(),
            action: action.to_owned(),
            target: name.to_string(),
            source: "cli".to_owned(),
        },
    )
    .await?;
    Ok(())
}
