//! `lmnop user …`: add, change, disable and list accounts, and issue API tokens.

use std::io::{BufRead, Read};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::accounts::{Accounts, Actor, MAX_PASSWORD_BYTES, Passwords};
use crate::config::{StoreArgs, StoreConfig};
use crate::db::users::{Role, UserState};
use crate::domain::{Secret, UserName};

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a random password is printed once.
    Add {
        /// 1 to 32 characters: lowercase letters, digits and '-', starting with a letter.
        name: String,
        /// May manage every function and account.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        password: PasswordSource,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set an account's password. Without --password-stdin a random one is printed once.
    Passwd {
        name: String,
        #[command(flatten)]
        password: PasswordSource,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Stop an account from pushing or signing in (its functions keep running).
    Disable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Let a disabled account sign in again.
    Enable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Create an API token (use it as the git password, or as a Bearer token); printed once.
    Token {
        name: String,
        /// What the token is for, to recognise it later.
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a user's API tokens: id, label, when created and last used (never the tokens).
    Tokens {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke one of a user's API tokens by its id (see `tokens`); it stops working at once.
    RevokeToken {
        name: String,
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args, Debug)]
pub struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            admin,
            password,
            store,
        } => {
            // Check the name before anything touches the disk or the database.
            UserName::parse(&name)?;
            let (password, generated) = password.read()?;
            let accounts = accounts(store).await?;
            let role = if admin { Role::Admin } else { Role::Member };
            accounts
                .create_user(&name, &password, role, &Actor::cli())
                .await?;
            println!("created user {name} ({})", role.as_str());
            if generated {
                println!("password: {} (shown once)", password.expose());
            }
        }
        UserCommand::Passwd {
            name,
            password,
            store,
        } => {
            let (password, generated) = password.read()?;
            accounts(store)
                .await?
                .set_password(&name, &password, &Actor::cli())
                .await?;
            println!("changed the password of {name}");
            if generated {
                println!("password: {} (shown once)", password.expose());
            }
        }
        UserCommand::Disable { name, store } => {
            accounts(store)
                .await?
                .set_state(&name, UserState::Disabled, &Actor::cli())
                .await?;
            println!("disabled {name}");
        }
        UserCommand::Enable { name, store } => {
            accounts(store)
                .await?
                .set_state(&name, UserState::Active, &Actor::cli())
                .await?;
            println!("enabled {name}");
        }
        UserCommand::List { store } => {
            let users = accounts(store).await?.list().await?;
            println!("{:<32}  {:<6}  {:<8}", "NAME", "ROLE", "STATE");
            for user in users {
                println!(
                    "{:<32}  {:<6}  {:<8}",
                    user.name,
                    user.role.as_str(),
                    user.state.as_str()
                );
            }
        }
        UserCommand::Token { name, label, store } => {
            let token = accounts(store)
                .await?
                .create_token(&name, &label, &Actor::cli())
                .await?;
            println!("{}", token.expose());
        }
        UserCommand::Tokens { name, store } => {
            let tokens = accounts(store).await?.list_tokens(&name).await?;
            println!("{:<6}  {:<24}  {:<20}  last used", "id", "label", "created");
            for token in tokens {
                let last_used = token.last_used_at.map_or_else(|| "never".to_owned(), when);
                println!(
                    "{:<6}  {:<24}  {:<20}  {last_used}",
                    token.id,
                    token.label,
                    when(token.created_at)
                );
            }
        }
        UserCommand::RevokeToken { name, id, store } => {
            accounts(store)
                .await?
                .revoke_token(&name, id, &Actor::cli())
                .await?;
            println!("revoked token {id} of {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
fn when(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(
        |_| unix.to_string(),
        |at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

async fn accounts(store: StoreArgs) -> anyhow::Result<Accounts> {
    let store = StoreConfig::from_args(store)?;
    let db = super::open(&store).await?;
    Ok(Accounts::new(db, Passwords::new(1)))
}

impl PasswordSource {
    /// The password, and whether it was generated (and so must be shown).
    fn read(&self) -> anyhow::Result<(Secret, bool)> {
        if !self.password_stdin {
            return Ok((crate::accounts::random_password(), true));
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_PASSWORD_BYTES as u64 + 2)
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']);
        anyhow::ensure!(
            !password.is_empty(),
            "--password-stdin read an empty password; pipe one in, e.g. `echo \"$PASSWORD\" | lmnop user add NAME --password-stdin`"
        );
        Ok((Secret::new(password), false))
    }
}
