//! Accounts: creating and changing users, API tokens, and the one authentication rule that
//! git, the API and the portal share.

pub mod access;
mod cache;
pub mod limits;
mod passwords;
pub mod tokens;

pub use access::can_see;
pub use tokens::random_password;

pub use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, PasswordError, Passwords};

use crate::db::audit::{self, AuditEntry};
use crate::db::users::{self, Role, User, UserState};
use crate::db::{Db, is_unique_violation};
use crate::domain::{NameError, Secret, UserName};

/// How often a token's "last used" time is written, at most.
const TOKEN_TOUCH_SECONDS: i64 = 60;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    InvalidName(#[from] NameError),
    #[error("a user named {0:?} already exists")]
    NameTaken(String),
    #[error("there is no user named {0:?}")]
    NotFound(String),
    #[error("{user} has no API token {id}; see `lmnop user tokens {user}`")]
    NoToken { user: String, id: i64 },
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Why a sign-in failed. Unknown users and wrong passwords are one case on purpose.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    InvalidCredentials,
    #[error("the account {0:?} is disabled")]
    Disabled(String),
    /// Too many failed sign-ins from this address or for this name; tried again after
    /// `retry_after`, without any password being checked.
    #[error("too many failed sign-ins for {}; try again in {} s", .0.who, .0.retry_after.as_secs().max(1))]
    Limited(limits::Limited),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Who is acting and from where, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub source: String,
}

impl Actor {
    /// The operator at the command line.
    pub fn cli() -> Self {
        Self {
            name: "cli".to_owned(),
            source: "cli".to_owned(),
        }
    }

    /// lmnop itself (first start).
    pub fn system() -> Self {
        Self {
            name: "lmnop".to_owned(),
            source: "lmnop".to_owned(),
        }
    }
}

/// The account service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    db: Db,
    passwords: Passwords,
    verified: std::sync::Arc<cache::VerifiedCache>,
    failures: std::sync::Arc<limits::FailureLimiter>,
}

impl Accounts {
    pub fn new(db: Db, passwords: Passwords) -> Self {
        Self {
            db,
            passwords,
            verified: std::sync::Arc::default(),
            failures: std::sync::Arc::default(),
        }
    }

    pub async fn create_user(
        &self,
        name: &str,
        password: &Secret,
        role: Role,
        actor: &Actor,
    ) -> Result<User, AccountError> {
        let name = UserName::parse(name)?;
        let hash = self.passwords.hash(password).await?;
        let user = users::insert(&self.db, &name, &hash, role)
            .await
            .map_err(|error| {
                if is_unique_violation(&error) {
                    AccountError::NameTaken(name.to_string())
                } else {
                    AccountError::Database(error)
                }
            })?;
        self.audit(actor, "user.create", name.as_str()).await?;
        Ok(user)
    }

    pub async fn set_password(
        &self,
        name: &str,
        password: &Secret,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        let hash = self.passwords.hash(password).await?;
        if !users::set_password_hash(&self.db, name, &hash).await? {
            return Err(AccountError::NotFound(name.to_owned()));
        }
        self.end_sessions(name).await?;
        self.audit(actor, "user.passwd", name).await
    }

    /// Makes `name` an administrator (or a member again).
    pub async fn set_role(
        &self,
        name: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        if !users::set_role(&self.db, name, role).await? {
            return Err(AccountError::NotFound(name.to_owned()));
        }
        let action = match role {
            Role::Admin => "user.promote",
            Role::Member => "user.demote",
        };
        self.audit(actor, action, name).await
    }

    /// Signs `name` out of every portal session (a new password, a disabled account).
    async fn end_sessions(&self, name: &str) -> Result<(), AccountError> {
        if let Some((user, _)) = users::find_with_hash(&self.db, name).await? {
            crate::db::sessions::end_for_user(&self.db, user.id).await?;
        }
        Ok(())
    }

    pub async fn set_state(
        &self,
        name: &str,
        state: UserState,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        if !users::set_state(&self.db, name, state).await? {
            return Err(AccountError::NotFound(name.to_owned()));
        }
        self.end_sessions(name).await?;
        let action = match state {
            UserState::Active => "user.enable",
            UserState::Disabled => "user.disable",
        };
        self.audit(actor, action, name).await
    }

    pub async fn list(&self) -> Result<Vec<User>, AccountError> {
        Ok(users::list(&self.db).await?)
    }

    /// Creates the `admin` user when there are no users at all. Returns the password it chose
    /// when none was given, so the caller can show it once.
    pub async fn ensure_first_admin(
        &self,
        password: Option<&Secret>,
    ) -> Result<Option<Secret>, AccountError> {
        if users::count(&self.db).await? > 0 {
            return Ok(None);
        }
        let generated = password.is_none().then(tokens::random_password);
        let chosen = password
            .or(generated.as_ref())
            .expect("one of the two is set");
        match self
            .create_user("admin", chosen, Role::Admin, &Actor::system())
            .await
        {
            // Another process created the first user at the same moment: theirs stands.
            Err(AccountError::NameTaken(_)) => Ok(None),
            Err(error) => Err(error),
            Ok(_) => Ok(generated),
        }
    }

    /// [`Self::authenticate`] for a client at `address`, counting failures per address and per
    /// name: past [`limits::MAX_FAILURES`] in [`limits::WINDOW`], tries are refused before any
    /// password is checked.
    pub async fn authenticate_from(
        &self,
        address: Option<std::net::IpAddr>,
        name: &str,
        secret: &Secret,
    ) -> Result<User, AuthError> {
        if let Err(limited) = self.failures.check(address, name) {
            tracing::warn!(
                limited = limited.who,
                address = address.map(|a| a.to_string()),
                user = name.chars().take(64).collect::<String>(),
                retry_after_s = limited.retry_after.as_secs(),
                "refused a sign-in: too many failures"
            );
            return Err(AuthError::Limited(limited));
        }
        let result = self.authenticate(name, secret).await;
        if matches!(result, Err(AuthError::InvalidCredentials)) {
            self.failures.failed(address, name);
        }
        result
    }

    /// Checks a user name with a password or an API token (passed as the password).
    pub async fn authenticate(&self, name: &str, secret: &Secret) -> Result<User, AuthError> {
        if tokens::looks_like_token(secret) {
            return self.authenticate_token(name, secret).await;
        }
        let found = users::find_with_hash(&self.db, name).await?;
        let hash = found.as_ref().map(|(_, hash)| hash.as_str());
        let remembered = hash.is_some_and(|hash| self.verified.hit(name, secret, hash));
        if !remembered {
            if !self.passwords.verify(secret, hash).await {
                return Err(AuthError::InvalidCredentials);
            }
            if let Some(hash) = hash {
                self.verified.remember(name, secret, hash);
            }
        }
        let (user, _) = found.expect("a verified password has a user");
        match user.state {
            UserState::Active => Ok(user),
            UserState::Disabled => Err(AuthError::Disabled(user.name)),
        }
    }

    /// Tokens work with the owner's name or an empty user name, like other git hosts.
    async fn authenticate_token(&self, name: &str, token: &Secret) -> Result<User, AuthError> {
        let hash = tokens::hash(token);
        let Some(found) = crate::db::tokens::find_by_hash(&self.db, &hash).await? else {
            return Err(AuthError::InvalidCredentials);
        };
        // "Last used" to the minute, without a write on every request of a fetch.
        if found
            .last_used_at
            .is_none_or(|at| crate::db::unix_now() - at >= TOKEN_TOUCH_SECONDS)
        {
            if let Err(error) = crate::db::tokens::touch(&self.db, found.id).await {
                tracing::warn!(%error, "cannot record a token's use");
            }
        }
        let Some(user) = users::find_by_id(&self.db, found.user_id).await? else {
            return Err(AuthError::InvalidCredentials);
        };
        if !name.is_empty() && name != user.name {
            return Err(AuthError::InvalidCredentials);
        }
        match user.state {
            UserState::Active => Ok(user),
            UserState::Disabled => Err(AuthError::Disabled(user.name)),
        }
    }

    /// Creates an API token for `name`; the token is returned once and stored only hashed.
    pub async fn create_token(
        &self,
        name: &str,
        label: &str,
        actor: &Actor,
    ) -> Result<Secret, AccountError> {
        let Some((user, _)) = users::find_with_hash(&self.db, name).await? else {
            return Err(AccountError::NotFound(name.to_owned()));
        };
        let token = tokens::new_token();
        crate::db::tokens::insert(&self.db, user.id, label, &tokens::hash(&token)).await?;
        self.audit(actor, "token.create", name).await?;
        Ok(token)
    }

    /// The API tokens of `name` (never the tokens themselves).
    pub async fn list_tokens(
        &self,
        name: &str,
    ) -> Result<Vec<crate::db::tokens::TokenInfo>, AccountError> {
        let Some((user, _)) = users::find_with_hash(&self.db, name).await? else {
            return Err(AccountError::NotFound(name.to_owned()));
        };
        Ok(crate::db::tokens::list_for_user(&self.db, user.id).await?)
    }

    /// Revokes token `id` of `name`: it stops working at once.
    pub async fn revoke_token(
        &self,
        name: &str,
        id: i64,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        let Some((user, _)) = users::find_with_hash(&self.db, name).await? else {
            return Err(AccountError::NotFound(name.to_owned()));
        };
        if !crate::db::tokens::delete(&self.db, user.id, id).await? {
            return Err(AccountError::NoToken {
                user: name.to_owned(),
                id,
            });
        }
        self.audit(actor, &format!("token.revoke.{id}"), name).await
    }

    async fn audit(&self, actor: &Actor, action: &str, target: &str) -> Result<(), AccountError> {
        let entry = AuditEntry {
            actor: actor.name.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            source: actor.source.clone(),
        };
        audit::record(&self.db, &entry).await?;
        Ok(())
    }
}
