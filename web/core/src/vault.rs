//! The vault: the wallet's accounts, with every secret sealed under the user's password the
//! keystore way (scrypt, AES-128-CTR, Keccak MAC; random salt and IV, parameters stored with the
//! ciphertext). The sealed [`VaultFile`] is what browser storage holds; the account list stays
//! readable so a locked wallet can still show balances. Randomness comes from the caller.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tao_crypto::{SecretKey, hd, keystore};
use tao_types::Address;

/// Format version of [`VaultFile`].
pub const VERSION: u32 = 1;
/// Most accounts one vault holds.
pub const MAX_ACCOUNTS: usize = 256;

/// Why a vault operation failed. A wrong password changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The password does not open the vault.
    #[error("wrong password")]
    WrongPassword,
    /// The stored vault or an imported file is damaged or of another format.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Input the user typed is not valid.
    #[error("{0}")]
    Invalid(String),
    /// No account with this address.
    #[error("no account {0}")]
    NotFound(Address),
    /// The account has no key (watch-only).
    #[error("{0} is watch-only: it has no key to sign with")]
    WatchOnly(Address),
    /// The address is already in the vault.
    #[error("{0} is already in the wallet")]
    Duplicate(Address),
}

impl From<keystore::KeystoreError> for VaultError {
    fn from(e: keystore::KeystoreError) -> Self {
        match e {
            keystore::KeystoreError::WrongPassword => VaultError::WrongPassword,
            keystore::KeystoreError::Malformed(m) => VaultError::Malformed(m),
        }
    }
}

/// Where an account's key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// The vault's mnemonic at `m/44'/60'/0'/0/index`.
    Mnemonic {
        /// Account index.
        index: u32,
    },
    /// An imported private key or keystore file.
    Imported,
    /// No key: balances only.
    WatchOnly,
    /// A hotkey owned by `coldkey`.
    Hotkey {
        /// The owning coldkey.
        coldkey: Address,
    },
}

/// How the account list names where a key comes from (never the enum's debug form).
impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Mnemonic { index } => write!(f, "recovery phrase, account {}", u64::from(*index) + 1),
            Kind::Imported => f.write_str("imported key"),
            Kind::WatchOnly => f.write_str("watch-only"),
            Kind::Hotkey { coldkey } => write!(f, "hotkey of {}", crate::display::short(coldkey)),
        }
    }
}

/// An account as everyone may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The user's name for it.
    pub name: String,
    /// Its address.
    pub address: Address,
    /// Where its key comes from.
    pub kind: Kind,
}

/// What browser storage holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultFile {
    /// [`VERSION`].
    pub version: u32,
    /// Every account, readable while locked.
    pub accounts: Vec<Account>,
    /// The sealed [`Secrets`].
    pub secrets: keystore::Crypto,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Secrets {
    mnemonic: Option<String>,
    keys: BTreeMap<Address, String>,
}

/// Fresh randomness for one sealing: scrypt salt and AES IV.
#[derive(Debug, Clone, Copy)]
pub struct Fresh {
    /// Salt.
    pub salt: [u8; 32],
    /// IV.
    pub iv: [u8; 16],
}

/// An open vault: the accounts and their secrets, and the password to seal changes with.
#[derive(Clone)]
pub struct Vault {
    accounts: Vec<Account>,
    secrets: Secrets,
    password: String,
}

impl core::fmt::Debug for Vault {
    /// Names the accounts only: secrets never reach a log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vault").field("accounts", &self.accounts).finish_non_exhaustive()
    }
}

fn account_name(prefix: &str, n: usize) -> String {
    format!("{prefix} {}", n + 1)
}

impl Vault {
    /// A new vault holding the first account of `phrase` (a BIP-39 mnemonic).
    pub fn from_mnemonic(phrase: &str, password: &str) -> Result<Vault, VaultError> {
        check_password(password)?;
        let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        hd::secret_from_mnemonic(&phrase, "", hd::DEFAULT_PATH)
            .map_err(|e| VaultError::Invalid(e.to_string()))?;
        let mut vault = Vault {
            accounts: Vec::new(),
            secrets: Secrets { mnemonic: Some(phrase), keys: BTreeMap::new() },
            password: password.to_string(),
        };
        vault.add_derived(None)?;
        Ok(vault)
    }

    /// A new vault with no mnemonic (for imported keys and watch-only addresses).
    pub fn empty(password: &str) -> Result<Vault, VaultError> {
        check_password(password)?;
        Ok(Vault { accounts: Vec::new(), secrets: Secrets::default(), password: password.to_string() })
    }

    /// Opens `file` with `password`. The account list is stored readable (so a locked wallet
    /// can show balances) and so unauthenticated: each account's address is checked against
    /// its sealed key, so an altered list cannot put another address on screen.
    pub fn unlock(file: &VaultFile, password: &str) -> Result<Vault, VaultError> {
        if file.version != VERSION {
            return Err(VaultError::Malformed(format!(
                "vault version {} (expected {VERSION})",
                file.version
            )));
        }
        let bytes = keystore::open(&file.secrets, password)?;
        let secrets: Secrets =
            serde_json::from_slice(&bytes).map_err(|e| VaultError::Malformed(e.to_string()))?;
        let vault = Vault { accounts: file.accounts.clone(), secrets, password: password.to_string() };
        for account in vault.accounts.iter().filter(|a| a.kind != Kind::WatchOnly) {
            if vault.key(&account.address)?.address() != account.address {
                return Err(VaultError::Malformed(format!(
                    "account {} does not match its sealed key",
                    account.address
                )));
            }
        }
        Ok(vault)
    }

    /// Seals the vault for storage with fresh randomness.
    pub fn seal(&self, fresh: Fresh) -> Result<VaultFile, VaultError> {
        let bytes = serde_json::to_vec(&self.secrets).map_err(|e| VaultError::Malformed(e.to_string()))?;
        let secrets = keystore::seal(&bytes, &self.password, (fresh.salt, fresh.iv))?;
        Ok(VaultFile { version: VERSION, accounts: self.accounts.clone(), secrets })
    }

    /// Every account.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    fn push(&mut self, account: Account) -> Result<Address, VaultError> {
        if self.accounts.iter().any(|a| a.address == account.address) {
            return Err(VaultError::Duplicate(account.address));
        }
        if self.accounts.len() >= MAX_ACCOUNTS {
            return Err(VaultError::Invalid(format!("a wallet holds at most {MAX_ACCOUNTS} accounts")));
        }
        let address = account.address;
        self.accounts.push(account);
        Ok(address)
    }

    /// The name a new account gets unless the user gives one: "Account N".
    pub fn default_name(&self) -> String {
        let accounts = self.accounts.iter().filter(|a| !matches!(a.kind, Kind::Hotkey { .. })).count();
        account_name("Account", accounts)
    }

    /// Adds the next account of the vault's mnemonic (named `name`, or the default name).
    pub fn add_derived(&mut self, name: Option<&str>) -> Result<Address, VaultError> {
        let phrase = self
            .secrets
            .mnemonic
            .clone()
            .ok_or_else(|| VaultError::Invalid("this wallet has no mnemonic".into()))?;
        let index = self
            .accounts
            .iter()
            .filter_map(|a| match a.kind {
                Kind::Mnemonic { index } => index.checked_add(1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let key = hd::secret_from_mnemonic(&phrase, "", &format!("m/44'/60'/0'/0/{index}"))
            .map_err(|e| VaultError::Invalid(e.to_string()))?;
        let name = name.map_or_else(|| self.default_name(), str::to_string);
        self.push(Account { name, address: key.address(), kind: Kind::Mnemonic { index } })
    }

    /// Imports a raw private key (64 hex digits, `0x` optional).
    pub fn import_private_key(&mut self, name: &str, hex_key: &str) -> Result<Address, VaultError> {
        let bytes: [u8; 32] = hex::decode(hex_key.trim().trim_start_matches("0x"))
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| VaultError::Invalid("a private key is 64 hex digits".into()))?;
        self.add_key(name, &bytes, Kind::Imported)
    }

    /// Imports a keystore-v3 JSON file with its own password.
    pub fn import_keystore(
        &mut self,
        name: &str,
        json: &str,
        file_password: &str,
    ) -> Result<Address, VaultError> {
        let store: keystore::Keystore =
            serde_json::from_str(json).map_err(|e| VaultError::Malformed(format!("keystore file: {e}")))?;
        let secret = keystore::decrypt(&store, file_password)?;
        self.add_key(name, &secret, Kind::Imported)
    }

    /// Adds an address without a key.
    pub fn add_watch_only(&mut self, name: &str, address: &str) -> Result<Address, VaultError> {
        let address: Address =
            address.trim().parse().map_err(|e| VaultError::Invalid(format!("address: {e}")))?;
        self.push(Account { name: name.to_string(), address, kind: Kind::WatchOnly })
    }

    /// Adds a hotkey for `coldkey` from 32 fresh random bytes.
    pub fn add_hotkey(&mut self, coldkey: &Address, secret: &[u8; 32]) -> Result<Address, VaultError> {
        self.key(coldkey)?;
        let n = self.accounts.iter().filter(|a| a.kind == Kind::Hotkey { coldkey: *coldkey }).count();
        self.add_key(&account_name("Hotkey", n), secret, Kind::Hotkey { coldkey: *coldkey })
    }

    fn add_key(&mut self, name: &str, secret: &[u8; 32], kind: Kind) -> Result<Address, VaultError> {
        let key = SecretKey::from_bytes(secret).map_err(|e| VaultError::Invalid(e.to_string()))?;
        let address = self.push(Account { name: name.to_string(), address: key.address(), kind })?;
        self.secrets.keys.insert(address, hex::encode(secret));
        Ok(address)
    }

    /// The signing key of `address`.
    pub fn key(&self, address: &Address) -> Result<SecretKey, VaultError> {
        let account =
            self.accounts.iter().find(|a| a.address == *address).ok_or(VaultError::NotFound(*address))?;
        match &account.kind {
            Kind::WatchOnly => Err(VaultError::WatchOnly(*address)),
            Kind::Mnemonic { index } => {
                let phrase = self
                    .secrets
                    .mnemonic
                    .as_deref()
                    .ok_or_else(|| VaultError::Malformed("no mnemonic".into()))?;
                hd::secret_from_mnemonic(phrase, "", &format!("m/44'/60'/0'/0/{index}"))
                    .map_err(|e| VaultError::Malformed(e.to_string()))
            }
            Kind::Imported | Kind::Hotkey { .. } => {
                let hex_key = self
                    .secrets
                    .keys
                    .get(address)
                    .ok_or_else(|| VaultError::Malformed("key missing".into()))?;
                let bytes: [u8; 32] = hex::decode(hex_key)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| VaultError::Malformed("stored key".into()))?;
                SecretKey::from_bytes(&bytes).map_err(|e| VaultError::Malformed(e.to_string()))
            }
        }
    }

    /// The secrets of `address` for a backup, only if `password` opens the vault again.
    pub fn export(&self, file: &VaultFile, address: &Address, password: &str) -> Result<Export, VaultError> {
        Vault::unlock(file, password)?;
        let key = self.key(address)?;
        let account =
            self.accounts.iter().find(|a| a.address == *address).ok_or(VaultError::NotFound(*address))?;
        let mnemonic = match account.kind {
            Kind::Mnemonic { .. } => self.secrets.mnemonic.clone(),
            _ => None,
        };
        Ok(Export { address: *address, private_key: format!("0x{}", hex::encode(key.to_bytes())), mnemonic })
    }

    /// `address`'s key as a keystore-v3 JSON file under the vault's password, only if
    /// `password` opens the vault again (fresh randomness).
    pub fn export_keystore(
        &self,
        file: &VaultFile,
        address: &Address,
        password: &str,
        fresh: Fresh,
    ) -> Result<String, VaultError> {
        Vault::unlock(file, password)?;
        let key = self.key(address)?;
        let store =
            keystore::encrypt(&key.to_bytes(), address.to_string(), password, (fresh.salt, fresh.iv))?;
        serde_json::to_string_pretty(&store).map_err(|e| VaultError::Malformed(e.to_string()))
    }
}

/// A backup of one account.
#[derive(Clone, PartialEq, Eq)]
pub struct Export {
    /// The account.
    pub address: Address,
    /// Its private key, `0x`-hex.
    pub private_key: String,
    /// The vault's mnemonic, for a mnemonic account.
    pub mnemonic: Option<String>,
}

fn check_password(password: &str) -> Result<(), VaultError> {
    if password.chars().count() < 8 {
        return Err(VaultError::Invalid("the password needs at least 8 characters".into()));
    }
    Ok(())
}

/// Which words of a new mnemonic the user must type back, from three random bytes: three
/// distinct positions (0-based) in ascending order.
pub fn confirmation_positions(words: usize, random: [u8; 3]) -> [usize; 3] {
    let words = words.max(3);
    let mut picked: Vec<usize> = Vec::with_capacity(3);
    for r in random {
        let mut p = usize::from(r) % words;
        while picked.contains(&p) {
            p = (p + 1) % words;
        }
        picked.push(p);
    }
    picked.sort_unstable();
    [picked[0], picked[1], picked[2]]
}

/// Locks the wallet after `timeout_ms` without activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoLock {
    /// Idle time before locking.
    pub timeout_ms: u64,
    last_activity_ms: u64,
}

impl AutoLock {
    /// Starts counting at `now_ms`.
    pub fn new(timeout_ms: u64, now_ms: u64) -> Self {
        AutoLock { timeout_ms, last_activity_ms: now_ms }
    }

    /// The user did something at `now_ms`.
    pub fn touch(&mut self, now_ms: u64) {
        self.last_activity_ms = self.last_activity_ms.max(now_ms);
    }

    /// Whether the wallet must lock at `now_ms`.
    pub fn due(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_activity_ms) >= self.timeout_ms
    }
}
