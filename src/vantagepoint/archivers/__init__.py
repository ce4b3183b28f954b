"""Archiver plugins: push ingested results to MQTT, RabbitMQ, NATS JetStream or HTTP."""
