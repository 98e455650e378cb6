//! What screens read from the chain, each by contract code on state proven at the believed head.

use tao_types::{Address, NetUid};
use tao_wallet::Chain;
use tao_wallet::proven::Context as RunContext;
use tao_wallet::views::{self, AccountView, NeuronRow, SubnetRow, SubnetView};

use crate::node;
use crate::session::Load;

/// A subnet's page and its metagraph.
pub type SubnetLoad = Load<(Option<SubnetView>, Vec<NeuronRow>)>;

/// An account's balances and every stake position the chain's index lists for it.
pub async fn account(chain: Chain, address: Address) -> Load<AccountView> {
    let height = chain.head().height;
    let read = node::read(&chain, height, RunContext::default(), |h| views::account(h, &address));
    Load::from(read.await)
}

/// Every subnet's row.
pub async fn subnets(chain: Chain) -> Load<Vec<SubnetRow>> {
    let height = chain.head().height;
    Load::from(node::read(&chain, height, RunContext::default(), views::subnets).await)
}

/// One subnet's page and metagraph at the believed head.
pub async fn subnet(chain: Chain, netuid: NetUid) -> SubnetLoad {
    let height = chain.head().height;
    subnet_at(&chain, netuid, height).await
}

/// One subnet's page and metagraph at `height`, a height `chain` believes.
pub async fn subnet_at(chain: &Chain, netuid: NetUid, height: u64) -> SubnetLoad {
    let read = node::read(chain, height, RunContext::default(), |h| {
        Ok::<_, String>((views::subnet(h, netuid)?, views::metagraph(h, netuid)?))
    });
    Load::from(read.await)
}

/// Whether `load` already shows subnet `netuid` (a re-read then keeps it on screen).
pub fn shows_subnet(load: &SubnetLoad, netuid: NetUid) -> bool {
    matches!(load, Load::Ready(p) if p.value.0.as_ref().is_some_and(|s| s.netuid == netuid))
}
