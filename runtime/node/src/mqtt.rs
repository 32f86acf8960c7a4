//! MQTT (rumqttc): sensors on low-bandwidth links (seed 2.3) publish events to topics; the
//! node subscribes with QoS 1 and acknowledges a message only after the core has committed
//! it, so the broker redelivers what a crash interrupted. The session is persistent and the
//! connection comes back with a growing pause between attempts.
//!
//! Acknowledgements trail: rumqttc's event loop reads up to ten messages a poll but sends
//! one request (an acknowledgement) a poll, and a broker may send without limit (mosquitto
//! 2.0 sends a whole backlog at once). What a crash makes the broker send again can so be
//! much more than the last message: the core's duplicate window must cover it.

use crate::config::MqttSection;
use crate::core::{Request, ingest};
use crate::metrics::Metrics;
use crate::store::Input;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub async fn subscribe(
    section: MqttSection,
    core: mpsc::Sender<Request>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut options = MqttOptions::new(&section.client_id, &section.host, section.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(16 << 20, 16 << 20);
    let (client, mut events) = AsyncClient::new(options, 256);
    let mut pause = Duration::from_millis(100);
    // Requests wait here, not in `client.ack(..).await`: the event loop takes one request
    // a poll but reads ten messages, so the client's channel fills, and a task waiting for
    // room in it while it is the only one polling the event loop would wait for ever.
    let mut unacked: VecDeque<Publish> = VecDeque::new();
    let mut unsubscribed: Vec<&str> = Vec::new();
    tracing::info!(
        "mqtt: subscribing to {:?} at {}:{}",
        section.topics,
        section.host,
        section.port
    );
    loop {
        unsubscribed.retain(|topic| client.try_subscribe(*topic, QoS::AtLeastOnce).is_err());
        while let Some(publish) = unacked.front() {
            if client.try_ack(publish).is_err() {
                break; // full: the next poll makes room
            }
            unacked.pop_front();
        }
        let event = tokio::select! {
            event = events.poll() => event,
            _ = stop.changed() => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                pause = Duration::from_millis(100);
                unsubscribed = section.topics.iter().map(String::as_str).collect();
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                // The topic is the source of the events' watermark.
                let source = format!("mqtt:{}", publish.topic);
                let inputs = Input::from_source(&source, lines(&publish.payload));
                metrics.source("mqtt", inputs.len() as u64);
                match ingest(&core, inputs).await {
                    Ok(_) => unacked.push_back(publish),
                    Err(e) => {
                        tracing::error!("mqtt: a message was not committed ({e}); stopping");
                        return Err(e);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                // The packet ids of the lost connection mean nothing on the next one: the
                // broker sends those messages again (their effects are committed, so the
                // core recognises them) and they are acknowledged then.
                unacked.clear();
                tracing::warn!("mqtt: {e}; reconnecting in {} ms", pause.as_millis());
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
    // Not `disconnect().await`: that could wait for room in a full channel for ever.
    let _ = client.try_disconnect();
    Ok(())
}

/// A message's events: one JSON event, or NDJSON lines.
fn lines(payload: &[u8]) -> Vec<Input> {
    String::from_utf8_lossy(payload)
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .map(|line| Input::Line(line.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_may_hold_several_lines() {
        assert_eq!(
            lines(b"{\"a\":1}\r\n\n{\"b\":2}"),
            [
                Input::Line("{\"a\":1}".into()),
                Input::Line("{\"b\":2}".into())
            ]
        );
        assert!(lines(b"  \n").is_empty());
    }
}
