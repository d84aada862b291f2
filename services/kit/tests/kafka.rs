//! The Kafka adapter against a real Kafka-protocol broker (`tansu`, see
//! testkit::kafka): subject order and fan-out, a consumer restarted
//! mid-stream (nothing lost, nothing processed twice), dead letters, lag from
//! committed offsets, and a 10 s broker outage behind the outbox.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use kit::context::Context;
use kit::db::Database;
use kit::events::kafka::KafkaCheck;
use kit::events::{
    Bus, ConsumerSpec, Event, Handler, HandlerError, Inbox, KafkaBus, KafkaConfig, Relay, StartFrom,
};
use kit::health::Check;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::kafka::Broker;

async fn bus(broker: &Broker) -> Arc<KafkaBus> {
    let mut config = KafkaConfig::new(broker.brokers());
    config.partitions = 3;
    config.lag_interval_ms = 200;
    Arc::new(
        KafkaBus::connect(&config, Duration::from_secs(30))
            .await
            .unwrap(),
    )
}

fn topic() -> String {
    format!("test.{}", uuid::Uuid::new_v4().simple())
}

fn ev(subject: &str, n: i64) -> Event {
    Event::new("Test", "test", subject, json!({ "n": n }))
}

async fn sqlite() -> (Database, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect_sqlite(&dir.path().join("t.db"), 4)
        .await
        .unwrap();
    kit::events::migrate(&db).await.unwrap();
    (db, dir)
}

fn context(bus: &Arc<KafkaBus>) -> Context {
    let mut ctx = Context::embedded();
    ctx.bus = bus.clone();
    ctx
}

/// Counts how often each event (by its `n`) was handled; fails events whose
/// data says `poison`.
#[derive(Default)]
struct Counting {
    handled: Mutex<HashMap<i64, u32>>,
}

impl Counting {
    fn count(&self) -> usize {
        self.handled.lock().unwrap().len()
    }
    fn twice(&self) -> Vec<i64> {
        let h = self.handled.lock().unwrap();
        let mut twice: Vec<i64> = h.iter().filter(|(_, c)| **c > 1).map(|(n, _)| *n).collect();
        twice.sort_unstable();
        twice
    }
    fn record(&self, event: &Event) {
        let n = event.data["n"].as_i64().unwrap();
        *self.handled.lock().unwrap().entry(n).or_default() += 1;
    }
}

#[async_trait]
impl Handler for Counting {
    async fn handle(&self, event: &Event) -> Result<(), HandlerError> {
        if event.data["poison"] == true {
            return Err(HandlerError::Permanent("poison".into()));
        }
        self.record(event);
        Ok(())
    }
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_keep_subject_order_and_every_live_subscriber_sees_every_event() {
    let broker = Broker::start();
    let bus = bus(&broker).await;
    let topic = topic();
    let mut durable = bus
        .subscribe(&topic, "ordered", StartFrom::Earliest)
        .await
        .unwrap();
    // Two instances' live fan-out (e.g. SSE), subscribed before the publish.
    let mut live_a = bus
        .subscribe(&topic, "live-a", StartFrom::Latest)
        .await
        .unwrap();
    let mut live_b = bus
        .subscribe(&topic, "live-b", StartFrom::Latest)
        .await
        .unwrap();
    for n in 0..40 {
        bus.publish(&topic, &ev(&format!("room-{}", n % 5), n))
            .await
            .unwrap();
    }
    for sub in [&mut durable, &mut live_a, &mut live_b] {
        let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
        for _ in 0..40 {
            let r = tokio::time::timeout(Duration::from_secs(30), sub.next())
                .await
                .expect("an event within 30 s")
                .unwrap();
            seen.entry(r.event.subject.clone())
                .or_default()
                .push(r.event.data["n"].as_i64().unwrap());
            sub.commit(&r).await.unwrap();
        }
        assert_eq!(seen.values().map(Vec::len).sum::<usize>(), 40);
        for (subject, ns) in seen {
            let mut sorted = ns.clone();
            sorted.sort_unstable();
            assert_eq!(ns, sorted, "order within {subject}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_mid_stream_loses_nothing_and_processes_nothing_twice() {
    let broker = Broker::start();
    let bus = bus(&broker).await;
    let topic = topic();
    let (db, _dir) = sqlite().await;
    let group = "restart";
    let inbox = Inbox::new(db.clone(), format!("{group}:{topic}"));
    let counting = Arc::new(Counting::default());

    // The first instance joins, then the events arrive.
    let mut first = bus
        .subscribe(&topic, group, StartFrom::Earliest)
        .await
        .unwrap();
    for n in 0..200 {
        bus.publish(&topic, &ev(&format!("s{}", n % 7), n))
            .await
            .unwrap();
    }
    // It processes 120 events but dies having committed only the first 100:
    // the last 20 were handled and recorded in the inbox, their offsets lost.
    for i in 0..120 {
        let r = tokio::time::timeout(Duration::from_secs(30), first.next())
            .await
            .expect("an event within 30 s")
            .unwrap();
        counting.record(&r.event);
        inbox.mark(&r.event.id).await.unwrap();
        if i < 100 {
            first.commit(&r).await.unwrap();
        }
    }
    drop(first);

    // The restarted instance: the consumer runner with the same group and inbox.
    let ctx = context(&bus);
    ConsumerSpec::durable("test", &topic, group, db.clone())
        .spawn(&ctx, counting.clone())
        .await
        .unwrap();
    wait_for("all 200 events", Duration::from_secs(60), || {
        counting.count() == 200
    })
    .await;
    // Redelivered events are deduplicated, not handled again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(counting.twice(), Vec::<i64>::new(), "handled twice");
    assert_eq!(counting.count(), 200);
    ctx.stop(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_events_reach_the_dead_letter_topic() {
    let broker = Broker::start();
    let bus = bus(&broker).await;
    let topic = topic();
    let (db, _dir) = sqlite().await;
    let mut dlq = bus
        .subscribe(&format!("{topic}.dlq"), "inspector", StartFrom::Earliest)
        .await
        .unwrap();
    let ctx = context(&bus);
    let counting = Arc::new(Counting::default());
    ConsumerSpec::durable("test", &topic, "dlq-test", db.clone())
        .spawn(&ctx, counting.clone())
        .await
        .unwrap();
    let mut poisoned = Vec::new();
    for n in 0..10 {
        let mut event = ev("s", n);
        if n % 4 == 0 {
            event.data["poison"] = json!(true);
            poisoned.push(event.id.clone());
        }
        bus.publish(&topic, &event).await.unwrap();
    }
    let mut dead = Vec::new();
    while dead.len() < poisoned.len() {
        let r = tokio::time::timeout(Duration::from_secs(30), dlq.next())
            .await
            .expect("a dead letter within 30 s")
            .unwrap();
        dead.push(r.event.id.clone());
        dlq.commit(&r).await.unwrap();
    }
    assert_eq!(dead, poisoned, "exactly the failing events, in order");
    wait_for("the healthy events", Duration::from_secs(30), || {
        counting.count() == 7
    })
    .await;
    ctx.stop(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_is_the_high_watermark_minus_the_committed_offset() {
    let broker = Broker::start();
    let bus = bus(&broker).await;
    let topic = topic();
    let mut sub = bus
        .subscribe(&topic, "slow", StartFrom::Earliest)
        .await
        .unwrap();
    for n in 0..50 {
        bus.publish(&topic, &ev(&format!("s{n}"), n)).await.unwrap();
    }
    for _ in 0..10 {
        let r = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("an event within 30 s")
            .unwrap();
        sub.commit(&r).await.unwrap();
    }
    // Offsets are committed each second; statistics come every 200 ms. They
    // only arrive while the consumer polls, as the runner always does.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let _ = tokio::time::timeout(Duration::from_millis(200), sub.next()).await;
        if bus.lag(&topic, "slow") == Some(40) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lag is {:?}, expected 40",
            bus.lag(&topic, "slow")
        );
    }
}

/// Writes one event into the outbox in its own transaction, as a service
/// request does.
async fn enqueue(db: &Database, topic: &str, event: &Event) {
    let mut tx = db.begin().await.unwrap();
    tx.enqueue(topic, event).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_broker_outage_delays_events_but_loses_none() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let mut broker = Broker::start();
    let bus = bus(&broker).await;
    let topic = topic();
    let (producer_db, _p) = sqlite().await;
    let (consumer_db, _c) = sqlite().await;
    let ctx = context(&bus);
    let counting = Arc::new(Counting::default());
    ConsumerSpec::durable("test", &topic, "outage", consumer_db)
        .spawn(&ctx, counting.clone())
        .await
        .unwrap();
    let relay = Relay::new(producer_db.clone(), ctx.bus.clone(), "test");
    let wake = relay.handle();
    relay.spawn(&ctx);

    for n in 0..20 {
        enqueue(&producer_db, &topic, &ev(&format!("s{}", n % 3), n)).await;
        wake.wake();
    }
    wait_for(
        "the events before the outage",
        Duration::from_secs(30),
        || counting.count() == 20,
    )
    .await;

    // The broker stops for 10 s while writes keep coming: every write
    // commits (the request succeeds), its event waits in the outbox.
    broker.pause();
    let check = KafkaCheck(bus.clone());
    let readiness = tokio::spawn(async move { check.check().await });
    let outage = Instant::now();
    let mut n = 20;
    while outage.elapsed() < Duration::from_secs(10) {
        let write = Instant::now();
        enqueue(&producer_db, &topic, &ev(&format!("s{}", n % 3), n)).await;
        wake.wake();
        assert!(
            write.elapsed() < Duration::from_secs(1),
            "a write waited on the broker"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let readiness = readiness.await.unwrap();
    assert!(readiness.is_err(), "/ready passed with the broker stopped");
    broker.resume();
    let total = n as usize;
    assert!(total >= 60, "writes during the outage: {}", total - 20);
    wait_for(
        &format!("all {total} events after the outage"),
        Duration::from_secs(90),
        || counting.count() == total,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(counting.twice(), Vec::<i64>::new(), "handled twice");
    let backlog: i64 =
        kit::db::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&producer_db)
            .await
            .unwrap();
    assert_eq!(backlog, 0, "outbox drained");
    assert_eq!(KafkaCheck(bus.clone()).check().await, Ok(()));
    ctx.stop(Duration::from_secs(10)).await;
}
