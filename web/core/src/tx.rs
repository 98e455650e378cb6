//! Transactions the wallet signs: the drafts, fees and previews shared with the CLI
//! ([`tao_client::tx`], re-exported here), and the wallet's own nonce rules and replacements of
//! what it signed.

use tao_contract_token as token;
use tao_crypto::{ChainDomain, SecretKey};
use tao_tx::{Call, SignedTransaction, Transaction};
use tao_types::{Balance, Hash};

pub use tao_client::tx::*;

/// Percent a replacement raises the fee limit by: above the node's replace-by-fee minimum
/// (10%), so a speed-up or cancel is never refused as underpriced.
pub const REPLACE_BUMP_PERCENT: u64 = 25;

/// A transaction this wallet signed: its nonce and hash. Once signed it can execute until its
/// sender's nonce passes it, whatever a node says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// Its nonce.
    pub nonce: u64,
    /// Its hash.
    pub hash: Hash,
}

/// Why the wallet will not sign at a nonce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// A transaction this wallet signed may still execute: signing another after it could run
    /// both (a withheld send retried would pay twice), so it is replaced instead.
    #[error("transaction {hash} at nonce {nonce} is not on chain yet: speed it up or cancel it in History")]
    Pending {
        /// Its nonce.
        nonce: u64,
        /// Its hash.
        hash: Hash,
    },
    /// The nonce shown on Confirm is no longer the one to sign.
    #[error("Confirm showed nonce {shown}, but the next nonce is now {next}: review again")]
    Changed {
        /// Shown on Confirm.
        shown: u64,
        /// What would be signed now.
        next: u64,
    },
    /// The transaction to replace has its nonce used on chain already.
    #[error("nonce {nonce} is already used on chain: there is nothing to replace")]
    Used {
        /// The nonce.
        nonce: u64,
    },
}

/// The nonce a new transaction is signed at: the sender's `proven` next nonce, unless a
/// transaction this wallet `signed` at or above it may still execute. The node's word is never
/// used, and a withheld transaction is never re-signed at a new nonce.
pub fn next_nonce(proven: u64, signed: &[Signed]) -> Result<u64, NonceError> {
    match signed.iter().filter(|s| s.nonce >= proven).min_by_key(|s| s.nonce) {
        Some(open) => Err(NonceError::Pending { nonce: open.nonce, hash: open.hash }),
        None => Ok(proven),
    }
}

/// The nonce to sign at when Sign is pressed: exactly the one Confirm `shown`, or an error.
pub fn confirm_nonce(shown: u64, proven: u64, signed: &[Signed]) -> Result<u64, NonceError> {
    let next = next_nonce(proven, signed)?;
    if next == shown { Ok(next) } else { Err(NonceError::Changed { shown, next }) }
}

/// How a pending transaction is replaced at its own nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// The same call with a higher fee.
    SpeedUp,
    /// A self-transfer of nothing with a higher fee, through the token module with this proven
    /// code hash: the chain refuses the transfer itself but uses the nonce and keeps only the
    /// fee, so the original can no longer execute.
    Cancel {
        /// The token module's proven code hash.
        token: Hash,
    },
}

/// A transaction this wallet signed and kept (`0x` hex), decoded and its signature checked
/// again before it is replaced: stored bytes are as untrusted as any other.
pub fn stored(hex: &str, domain: &ChainDomain) -> Result<Transaction, String> {
    let bytes = hex::decode(hex.trim_start_matches("0x")).map_err(|e| format!("stored transaction: {e}"))?;
    tao_tx::decode_and_verify(&bytes, domain)
        .map(|v| v.into_signed().tx)
        .map_err(|e| format!("stored transaction: {e}"))
}

/// The fee limit that replaces a transaction with fee limit `fee`.
pub fn replacement_fee(fee: u64) -> u64 {
    fee.saturating_add(fee.saturating_mul(REPLACE_BUMP_PERCENT).div_ceil(100))
}

/// The replacement of `pending` (a transaction this wallet signed, its sender's next nonce
/// `proven`): same sender and nonce, a higher fee, signed for the pinned chain `domain`.
pub fn replace(
    pending: &Transaction,
    how: Replace,
    proven: u64,
    domain: &ChainDomain,
    key: &SecretKey,
) -> Result<SignedTransaction, String> {
    if pending.nonce < proven {
        return Err(NonceError::Used { nonce: pending.nonce }.to_string());
    }
    if key.address() != pending.sender {
        return Err("this key did not sign the transaction to replace".into());
    }
    let call = match how {
        Replace::SpeedUp => pending.call.clone(),
        Replace::Cancel { token } => Call {
            contract: token,
            method: b"entry_transfer".to_vec().try_into().map_err(|e| format!("method: {e}"))?,
            args: borsh_vec(&token::TransferArgs { to: pending.sender, amount: 0 })
                .try_into()
                .map_err(|e| format!("arguments: {e}"))?,
        },
    };
    let tx = Transaction {
        chain_id: domain.chain_id,
        sender: pending.sender,
        nonce: pending.nonce,
        fee_limit: Balance(replacement_fee(pending.fee_limit.0)),
        call,
    };
    Ok(tx.sign(domain, key))
}
