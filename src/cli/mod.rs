//! The command line: `lmnop serve`, `user …`, `migrate`, `doctor`. Each command reads its
//! settings from flags or `LMNOP_*` variables and reports failures as one plain message.

mod secret;
mod user;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{Application, shutdown_signal};
use crate::config::{Config, RuntimeArgs, RuntimeConfig, ServeArgs, StoreArgs, StoreConfig};
use crate::db::Db;
use crate::telemetry::{self, LogFormat};

/// lmnop: `git push` your function, get it built, deployed and answering.
#[derive(Parser, Debug)]
#[command(name = "lmnop", version, propagate_version = true)]
pub struct Cli {
    /// Log line format.
    #[arg(long, env = "LMNOP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,

    /// Which log lines to show, in RUST_LOG syntax (e.g. `info`, `lmnop=debug`).
    #[arg(long = "log", env = "LMNOP_LOG", default_value = "info", global = true)]
    pub log_filter: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: git over HTTP, portal, browser, router, API, /healthz and /metrics.
    Serve(Box<ServeArgs>),
    /// Manage accounts (they push with git and sign in to the portal).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage function secrets (mounted at /var/openfaas/secrets/NAME).
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Apply database migrations (`serve` also does this at start).
    Migrate(MigrateArgs),
    /// Check the database, Docker engine, registry and gateway; exit 1 when one is down.
    Doctor(DoctorArgs),
    /// Internal: git hooks that hand a push to the running server.
    #[command(subcommand)]
    Hook(HookCommand),
}

#[derive(Subcommand, Debug)]
pub enum HookCommand {
    /// Run by `git receive-pack`: relays the push to the server and exits with its verdict.
    PreReceive,
    /// Run by git for each ref transaction of a push: the server records and switches the
    /// release while git holds the branch's lock, and can still refuse the update.
    ReferenceTransaction {
        /// `prepared`, `committed` or `aborted`.
        state: String,
    },
    /// Run by `git receive-pack` once the refs are updated: prints the release's outcome.
    PostReceive,
}

impl HookCommand {
    /// Runs the hook, without logging set-up or a runtime: git relays what it prints.
    fn run(&self) -> ExitCode {
        match self {
            Self::PreReceive => crate::git::run_pre_receive(),
            Self::ReferenceTransaction { state } => crate::git::run_reference_transaction(state),
            Self::PostReceive => crate::git::run_post_receive(),
        }
    }
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Parses the command line, runs the command, and turns failures into a message and exit 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Hook(hook) = &cli.command {
        // No logging set-up and no runtime: git relays everything this prints to the pusher.
        return hook.run();
    }
    telemetry::init(cli.log_format, &cli.log_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_serve_args(*args)?;
            let app = Application::build(config).await?;
            app.run_until(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => user::run(command).await,
        Command::Secret(command) => secret::run(command).await,
        Command::Migrate(args) => {
            let store = StoreConfig::from_args(args.store)?;
            let db = open(&store).await?;
            let version = db
                .migrator()
                .iter()
                .map(|migration| migration.version)
                .max()
                .unwrap_or(0);
            println!(
                "{} database {} is up to date (schema version {version})",
                db.backend().as_str(),
                store.database.display_url()
            );
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Hook(hook) => Ok(hook.run()),
        Command::Doctor(args) => {
            let store = StoreConfig::from_args(args.store)?;
            let docker_host =
                crate::engine::DockerHost::new(Some(args.runtime.docker_host.clone()));
            let runtime = RuntimeConfig::from_args(args.runtime)?;
            let checks = crate::doctor::run(&store, &docker_host, &runtime).await;
            for check in &checks {
                println!("{check}");
            }
            Ok(if checks.iter().all(crate::doctor::Check::passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Opens the database for an operator command (migrating it, as `serve` would).
async fn open(store: &StoreConfig) -> anyhow::Result<Db> {
    Ok(crate::store::open_database(&store.data_dir, &store.database).await?)
}
