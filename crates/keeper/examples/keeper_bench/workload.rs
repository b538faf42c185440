//! The four workloads, as the sequence of operations each session sends: the same sequence
//! whichever client sends it.

pub const VALUE_BYTES: usize = 100;
/// Znodes per session that setData and getData address.
pub const NODES_PER_SESSION: u64 = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Create,
    SetData,
    GetData,
    Mixed,
}

pub const ALL: [Workload; 4] = [
    Workload::Create,
    Workload::SetData,
    Workload::GetData,
    Workload::Mixed,
];

pub enum Operation {
    Create(String, Vec<u8>),
    SetData(String, Vec<u8>),
    GetData(String),
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::SetData => "setData",
            Self::GetData => "getData",
            Self::Mixed => "90% read",
        }
    }

    /// Session `session`'s `n`th operation. `run` names the run, so that creates of
    /// different runs never collide.
    pub fn operation(self, run: &str, session: usize, n: u64) -> Operation {
        let value = || vec![b'x'; VALUE_BYTES];
        let node = format!("/bench/s{session}-{}", n % NODES_PER_SESSION);
        match self {
            Self::Create => Operation::Create(format!("/bench/{run}{session}-{n}"), value()),
            Self::SetData => Operation::SetData(node, value()),
            Self::Mixed if n.is_multiple_of(10) => Operation::SetData(node, value()),
            Self::GetData | Self::Mixed => Operation::GetData(node),
        }
    }
}

/// The znodes the setData and getData workloads address, for `sessions` sessions.
pub fn prepared_nodes(sessions: usize) -> impl Iterator<Item = String> {
    (0..sessions).flat_map(|s| (0..NODES_PER_SESSION).map(move |i| format!("/bench/s{s}-{i}")))
}
