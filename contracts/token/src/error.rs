use core::fmt;

/// Why a token operation failed. The text is part of consensus (it is recorded in receipts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The account has less than the amount.
    InsufficientBalance {
        /// Balance held.
        have: u64,
        /// Amount asked for.
        need: u64,
    },
    /// The recipient would hold less than the existential deposit.
    BelowExistentialDeposit {
        /// The balance it would hold.
        amount: u64,
    },
    /// A keep-alive transfer would leave the sender below the existential deposit.
    KeepAlive {
        /// What would be left.
        left: u64,
    },
    /// Zero amounts do nothing and are refused.
    ZeroAmount,
    /// Sender and recipient are the same account.
    SelfTransfer,
    /// Issuance would pass the 21M τ cap.
    SupplyCap,
    /// An amount overflowed.
    Overflow,
    /// Only the chain itself may call this.
    NotSystem,
    /// A `transfer_from` above what the owner approved for the spender.
    AllowanceExceeded {
        /// Still approved.
        allowed: u64,
        /// Amount asked for.
        need: u64,
    },
    /// A fee refund asked for more than its transaction's hold (a chain bug, never a refund).
    RefundAboveHold {
        /// Rao held before the call.
        held: u64,
        /// The fee asked for.
        fee: u64,
    },
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::InsufficientBalance { have, need } => {
                write!(f, "insufficient balance: {have} < {need} rao")
            }
            TokenError::BelowExistentialDeposit { amount } => {
                write!(f, "recipient would hold {amount} rao, below the existential deposit of 500")
            }
            TokenError::KeepAlive { left } => write!(f, "keep-alive transfer would leave {left} rao"),
            TokenError::ZeroAmount => f.write_str("amount must be positive"),
            TokenError::SelfTransfer => f.write_str("cannot transfer to yourself"),
            TokenError::SupplyCap => f.write_str("issuance would exceed 21,000,000 TAO"),
            TokenError::Overflow => f.write_str("amount overflow"),
            TokenError::AllowanceExceeded { allowed, need } => {
                write!(f, "allowance exceeded: {allowed} < {need} rao approved")
            }
            TokenError::NotSystem => f.write_str("only the chain may call this"),
            TokenError::RefundAboveHold { held, fee } => {
                write!(f, "fee {fee} rao is more than the {held} rao held")
            }
            TokenError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

impl From<tao_sdk::Error> for TokenError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => TokenError::Decode(what),
            tao_sdk::Error::Custom(_) => TokenError::Decode("data"),
        }
    }
}
