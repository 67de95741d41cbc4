//! The memory pool of the local engine: DataFusion's fair share for operators that can spill,
//! and beyond it whatever the pool has free.
//!
//! DataFusion's `FairSpillPool` caps each spilling operator at the pool (less what operators
//! that cannot spill hold) divided by the number of spilling operators *registered*. A plan
//! registers all of them when it starts, before any data flows (apache/datafusion#22036), so
//! the operator doing the work is capped at a small part of a pool that is mostly free: under a
//! 6 GiB pool, and under the default 40 % of RAM, the GD-1M features step spilled its whole
//! final sort (1.2 GB of 3 M rows) to disk, the ledger and the enforcement alerts theirs, while
//! the process held about 3 GiB (BENCHMARKS.md, decision 135).
//!
//! [`FairFreePool`] lets a spilling operator grow while either
//! - it stays within its share among the registered spilling operators (`FairSpillPool`'s rule:
//!   every operator keeps the memory it would have had there), or
//! - the pool as a whole stays within its size.
//!
//! Operators that cannot spill are admitted as by `FairSpillPool`: while the pool has room.
//!
//! The first rule admits an operator that starts after another took the free memory, as
//! `FairSpillPool` would have (a sort refused its first batch fails the query): the pool then
//! holds more than its size, by at most those shares, until the larger operator next asks for
//! memory, is refused and spills.

use std::sync::Mutex;

use datafusion::common::{resources_datafusion_err, Result};
use datafusion::execution::memory_pool::{
    human_readable_size, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

#[derive(Debug)]
pub struct FairFreePool {
    size: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Spilling operators registered.
    spillers: usize,
    spillable: usize,
    unspillable: usize,
}

impl FairFreePool {
    pub fn new(size: usize) -> Self {
        FairFreePool {
            size,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn held(&mut self, consumer: &MemoryConsumer) -> &mut usize {
        if consumer.can_spill() {
            &mut self.spillable
        } else {
            &mut self.unspillable
        }
    }
}

impl std::fmt::Display for FairFreePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FairFreePool({})", human_readable_size(self.size))
    }
}

impl MemoryPool for FairFreePool {
    fn name(&self) -> &str {
        "fair_free"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.state().spillers += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut state = self.state();
            state.spillers = state.spillers.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        *self.state().held(reservation.consumer()) += additional;
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let mut state = self.state();
        let held = state.held(reservation.consumer());
        *held = held.saturating_sub(shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let consumer = reservation.consumer();
        let mut state = self.state();
        let total = state.spillable + state.unspillable;
        let free = total + additional <= self.size;
        let admitted = if consumer.can_spill() {
            let share = self.size.saturating_sub(state.unspillable) / state.spillers.max(1);
            free || reservation.size() + additional <= share
        } else {
            free
        };
        if !admitted {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {} for {} with {} already allocated for this \
                 reservation - {} of the pool of {} in use",
                human_readable_size(additional),
                consumer.name(),
                human_readable_size(reservation.size()),
                human_readable_size(total),
                human_readable_size(self.size)
            ));
        }
        *state.held(consumer) += additional;
        Ok(())
    }

    fn reserved(&self) -> usize {
        let state = self.state();
        state.spillable + state.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn spiller(pool: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
        MemoryConsumer::new(name)
            .with_can_spill(true)
            .register(pool)
    }

    #[test]
    fn an_operator_takes_free_memory_that_idle_ones_are_not_using() {
        let pool: Arc<dyn MemoryPool> = Arc::new(FairFreePool::new(1000));
        let idle: Vec<_> = (0..9)
            .map(|i| spiller(&pool, &format!("idle{i}")))
            .collect();
        let sort = spiller(&pool, "sort");
        // FairSpillPool would stop it at 1000 / 10.
        sort.try_grow(900).unwrap();
        assert_eq!(pool.reserved(), 900);
        // The pool's size bounds what is free.
        assert!(sort.try_grow(101).is_err());
        // An operator that starts later still gets its share among the registered ones, as in
        // FairSpillPool, though the pool is then over its size...
        idle[0].try_grow(100).unwrap();
        idle[1].try_grow(100).unwrap();
        assert_eq!(pool.reserved(), 1100);
        // ...until the large one asks again, is refused and spills.
        assert!(sort.try_grow(1).is_err());
        assert!(idle[1].try_grow(1).is_err());
        sort.free();
        idle[1].try_grow(700).unwrap();
        drop(idle);
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn operators_that_cannot_spill_take_what_is_free() {
        let pool: Arc<dyn MemoryPool> = Arc::new(FairFreePool::new(1000));
        let join = MemoryConsumer::new("join").register(&pool);
        let sort = spiller(&pool, "sort");
        let _idle = spiller(&pool, "idle");
        join.try_grow(700).unwrap();
        // Its share is (1000 - 700) / 2 = 150, but all 300 left are free.
        assert!(sort.try_grow(301).is_err());
        sort.try_grow(300).unwrap();
        assert!(join.try_grow(1).is_err());
        sort.free();
        join.try_grow(300).unwrap();
        assert_eq!(pool.reserved(), 1000);
    }

    #[test]
    fn a_split_reservation_is_freed_once() {
        let pool: Arc<dyn MemoryPool> = Arc::new(FairFreePool::new(1000));
        let sort = spiller(&pool, "sort");
        sort.try_grow(600).unwrap();
        let part = sort.split(200);
        drop(sort);
        assert_eq!(pool.reserved(), 200);
        drop(part);
        assert_eq!(pool.reserved(), 0);
    }
}
