//! `lmnop secret …`: set, list and remove function secrets, and say whose they are: a secret
//! belongs to a user (`--owner`) or to the administrators, and may be granted to more users.
//! Values are read from standard input and never printed. With the openfaas runtime, a set or
//! removed secret is set or removed at the gateway too (`/system/secrets`).

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::{RuntimeArgs, RuntimeConfig, StoreArgs, StoreConfig};
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
        /// The user whose functions may use it; without it the secret is the administrators'
        /// (only functions owned by an administrator, or granted users, may use it). Setting an
        /// existing secret without --owner keeps its owner.
        #[arg(long, value_name = "USER")]
        owner: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Let USER's functions use the secret too.
    Grant {
        name: String,
        user: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Take a grant back (running functions keep the secret until their next deploy).
    Revoke {
        name: String,
        user: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List secrets with their owner and grants (values are never shown).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a secret.
    Rm {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

pub async fn run(command: SecretCommand) -> anyhow::Result<ExitCode> {
    match command {
        SecretCommand::Set {
            name,
            owner,
            store,
            runtime,
        } => {
            let name = SecretName::parse(&name)?;
            let runtime = RuntimeConfig::from_args(runtime)?;
            let value = read_value()?;
            let (secrets, db) = open(store).await?;
            let owner = match owner {
                Some(owner) => Some(user_id(&db, &owner).await?),
                None => None,
            };
            let replaced = secrets.set(&name, &value)?;
            if owner.is_some() || !replaced {
                crate::db::secrets::set_owner(&db, name.as_str(), owner).await?;
            }
            record(&db, "secret.set", &name).await?;
            let whose = match crate::db::secrets::owner(&db, name.as_str()).await? {
                Some(_) => "its owner's",
                None => "administrators'",
            };
            println!(
                "{} secret {name} (for {whose} functions)",
                if replaced { "replaced" } else { "created" }
            );
            if let Some(gateway) = gateway(&runtime) {
                gateway.set_secret(name.as_str(), &value).await.map_err(|error| {
                    anyhow::anyhow!(
                        "{error}\nlmnop keeps the secret; the gateway gets it with the next deploy \
                         of a function that uses it, or run this again"
                    )
                })?;
                println!("set secret {name} at the OpenFaaS gateway");
            }
        }
        SecretCommand::Grant { name, user, store } => {
            let name = SecretName::parse(&name)?;
            let (secrets, db) = open(store).await?;
            anyhow::ensure!(secrets.exists(&name), "there is no secret named {name}");
            let id = user_id(&db, &user).await?;
            crate::db::secrets::grant(&db, name.as_str(), id).await?;
            record(&db, &format!("secret.grant.{user}"), &name).await?;
            println!("{user}'s functions may use secret {name}");
        }
        SecretCommand::Revoke { name, user, store } => {
            let name = SecretName::parse(&name)?;
            let (_, db) = open(store).await?;
            let id = user_id(&db, &user).await?;
            let had = crate::db::secrets::revoke(&db, name.as_str(), id).await?;
            anyhow::ensure!(had, "{user} has no grant of secret {name}");
            record(&db, &format!("secret.revoke.{user}"), &name).await?;
            println!("{user}'s functions may no longer use secret {name}");
        }
        SecretCommand::List { store } => {
            let (secrets, db) = open(store).await?;
            let (owners, grants) = crate::db::secrets::access_list(&db).await?;
            for name in secrets.list()? {
                let owner = owners.get(&name).map_or("(administrators)", String::as_str);
                let granted = grants.get(&name).map(|users| users.join(","));
                match granted {
                    Some(users) => println!("{name}\t{owner}\tgranted to {users}"),
                    None => println!("{name}\t{owner}"),
                }
            }
        }
        SecretCommand::Rm {
            name,
            store,
            runtime,
        } => {
            let name = SecretName::parse(&name)?;
            let runtime = RuntimeConfig::from_args(runtime)?;
            let (secrets, db) = open(store).await?;
            secrets.remove(&name)?;
            crate::db::secrets::forget(&db, name.as_str()).await?;
            record(&db, "secret.rm", &name).await?;
            println!("removed secret {name}");
            if let Some(gateway) = gateway(&runtime) {
                gateway
                    .delete_secret(name.as_str())
                    .await
                    .map_err(|error| {
                        anyhow::anyhow!(
                            "{error}\nlmnop has forgotten the secret, but the gateway still \
                             has it; run this again once the gateway answers"
                        )
                    })?;
                println!("removed secret {name} at the OpenFaaS gateway");
            }
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

/// The gateway to keep secrets at, with the openfaas runtime.
fn gateway(runtime: &RuntimeConfig) -> Option<crate::runtime::openfaas::gateway::Gateway> {
    match runtime {
        RuntimeConfig::OpenFaas { gateway, .. } => Some(
            crate::runtime::openfaas::gateway::Gateway::new(gateway.clone()),
        ),
        RuntimeConfig::Docker { .. } => None,
    }
}

async fn open(store: StoreArgs) -> anyhow::Result<(SecretStore, crate::db::Db)> {
    let store = StoreConfig::from_args(store)?;
    let db = super::open(&store).await?;
    crate::store::prepare_data_dir(&store.data_dir)?;
    Ok((SecretStore::new(&store.data_dir), db))
}

/// The id of the user named `name`, or an error that says there is none.
async fn user_id(db: &crate::db::Db, name: &str) -> anyhow::Result<i64> {
    crate::db::users::find_with_hash(db, name)
        .await?
        .map(|(user, _)| user.id)
        .ok_or_else(|| anyhow::anyhow!("there is no user named {name:?}; see `lmnop user list`"))
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
