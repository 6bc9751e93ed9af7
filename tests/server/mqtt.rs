//! Events from the store's message bus: a real `mosquitto` broker started by the test, a publisher
//! on it, and the server's subscriber turning messages into journaled events and sessions. A bad
//! message is counted and does not block the topic.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use endcap::demo::DemoSpec;
use endcap::server::{self, ModelSource};
use endcap::shoppers::Shopper;
use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::common::{block_on, metric, test_config};

/// A broker on a free loopback port; killed on drop.
struct Broker(Child, u16);

impl Broker {
    fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        // Debian installs it in /usr/sbin, which a non-root PATH may lack.
        let program = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mosquitto");
        let child = Command::new(program)
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (.ci/run installs it: apt-get install mosquitto)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker(child, port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn events_published_on_the_bus_reach_the_journal_and_the_sessions() {
    let broker = Broker::start();
    let mut config = test_config();
    config.events.mqtt_url = Some(format!("mqtt://127.0.0.1:{}", broker.1));
    config.events.mqtt_topic = "store-7/events".into();
    config.events.mqtt_client_id = format!("endcap-test-{}", std::process::id());
    block_on(async {
        let source = ModelSource::made(|| {
            endcap::train::demo_model(&DemoSpec { products: 800, customers: 1_500, seed: 4, dim: 16 })
        });
        let mut running = server::start(config, source).await.expect("starts");
        running.ready().await.expect("ready");
        let mut options = MqttOptions::new("till-3", "127.0.0.1", broker.1);
        options.set_keep_alive(Duration::from_secs(5));
        let (publisher, mut events) = AsyncClient::new(options, 16);
        tokio::spawn(async move { while events.poll().await.is_ok() {} });
        let shoppers = running.service.shoppers.clone().expect("journal");
        let before = shoppers.acked_seq();
        // The subscriber may still be connecting: publish until the event lands.
        let started = Instant::now();
        loop {
            publisher.publish("store-7/events", QoS::AtLeastOnce, false, &b"{not json"[..]).await.expect("publish");
            let body = r#"{"events":[{"kind":"zone_enter","customer":"c3","zone":"fresh"},{"kind":"add","customer":"c3","product":"p9"}]}"#;
            publisher.publish("store-7/events", QoS::AtLeastOnce, false, body.as_bytes()).await.expect("publish");
            tokio::time::sleep(Duration::from_millis(200)).await;
            if shoppers.sessions.read(Shopper::Customer("c3"), |s| s.basket.len()).unwrap_or(0) > 0 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "the bus event never reached the session");
        }
        let session = shoppers.sessions.read(Shopper::Customer("c3"), Clone::clone).expect("session");
        assert_eq!(session.zone.as_ref().map(|z| &*z.0), Some("fresh"));
        assert_eq!(session.basket, ["p9".into()]);
        assert!(shoppers.acked_seq() >= before + 2, "journaled");
        let text = running.service.metrics.encode();
        assert!(metric(&text, r#"endcap_requests_total{transport="mqtt",op="events",outcome="ok"}"#) >= 1.0, "{text}");
        assert!(
            metric(&text, r#"endcap_requests_total{transport="mqtt",op="events",outcome="malformed_request"}"#) >= 1.0
        );
        running.shutdown().await;
    });
}
