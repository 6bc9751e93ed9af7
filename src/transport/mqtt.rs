//! The store's message bus: a subscriber to an MQTT broker topic, so point-of-sale systems and
//! sensors can publish events without speaking QUIC. Each message is a JSON body as for
//! `POST /v1/events`; it goes through the same `events` operation (checked one by one, journaled),
//! and is acknowledged to the broker (QoS 1, manual acknowledgement) only once the journal has it:
//! a message the server crashed on is delivered again (at least once). A message that is not a
//! valid batch is acknowledged and counted (so it cannot block the topic) and logged once a minute.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::watch;
use tracing::{info, warn};

use super::limits::LogOnce;
use crate::ca::Role;
use crate::clock::Now;
use crate::config::EventsConfig;
use crate::metrics::Transport;
use crate::ops::{Caller, OpId, State};
use crate::service::Service;

/// Who a bus message is: any device may publish events, and the broker's own access control
/// decides who reaches the topic; events are all a bus message can carry.
const BUS: Caller = Caller::role(Role::Beacon);

/// Parses `mqtt://host:port` (port 1883 when left out).
fn host_port(url: &str) -> Result<(String, u16), String> {
    let rest = url.strip_prefix("mqtt://").ok_or_else(|| format!("{url}: not mqtt://host:port"))?;
    match rest.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().map_err(|_| format!("{url}: bad port"))?)),
        None => Ok((rest.to_string(), 1883)),
    }
}

/// Subscribes to `cfg.mqtt_topic` on `cfg.mqtt_url` (if set) until `stop` turns true. The broker
/// being down is not fatal: the client reconnects every second and says so once a minute.
pub fn spawn(service: Arc<Service>, cfg: &EventsConfig, mut stop: watch::Receiver<bool>) -> Result<(), String> {
    let Some(url) = &cfg.mqtt_url else { return Ok(()) };
    let (host, port) = host_port(url)?;
    let mut options = MqttOptions::new(cfg.mqtt_client_id.clone(), host, port);
    options.set_keep_alive(Duration::from_secs(15)).set_manual_acks(true).set_clean_session(false);
    options.set_max_packet_size(service.config.server.max_frame_bytes, service.config.server.max_frame_bytes);
    let (client, mut events) = AsyncClient::new(options, 64);
    let topic = cfg.mqtt_topic.clone();
    let url = url.clone();
    tokio::spawn(async move {
        let log = LogOnce::default();
        let mut state = State::default();
        let mut out = Vec::new();
        loop {
            let event = tokio::select! {
                e = events.poll() => e,
                _ = stop.wait_for(|s| *s) => break,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    info!(%url, %topic, "connected to the message bus; subscribing");
                    if let Err(e) = client.subscribe(topic.clone(), QoS::AtLeastOnce).await {
                        warn!(%url, "cannot subscribe to {topic}: {e}");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    let now = Now::read();
                    out.clear();
                    let mut result = service.handle_json(
                        Transport::Mqtt,
                        now,
                        BUS,
                        OpId::Events,
                        &message.payload,
                        &mut state,
                        &mut out,
                    );
                    if result.is_ok() && state.pending.is_some() {
                        result = service.finish(Transport::Mqtt, now, BUS, &mut state, &mut out).await;
                    }
                    if let Err(e) = &result
                        && log.due("mqtt-refused", Instant::now())
                    {
                        warn!(%topic, code = e.code.as_str_name(), "message bus batch refused (logged once a minute): {}", e.message);
                    }
                    // Acknowledged once journaled (or refused for good); a crash before this line
                    // gets the message delivered again.
                    let _ = client.ack(&message).await;
                }
                Ok(_) => {}
                Err(e) => {
                    if log.due("mqtt-connection", Instant::now()) {
                        warn!(%url, "message bus connection failed, retrying every second (logged once a minute): {e}");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
            }
        }
        let _ = client.disconnect().await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn broker_urls_parse() {
        assert_eq!(super::host_port("mqtt://broker.local:1884"), Ok(("broker.local".into(), 1884)));
        assert_eq!(super::host_port("mqtt://broker"), Ok(("broker".into(), 1883)));
        assert!(super::host_port("http://x").is_err() && super::host_port("mqtt://x:y").is_err());
    }
}
