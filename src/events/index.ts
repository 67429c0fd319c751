/**
 * The web console's data: counts, histories, NACK and ACK books kept from
 * the registry's change feed, the xDS replies and the push guard's
 * generations, and the live events `GET /v1/events` sends.
 */
export { createEventHub, ACKS_EVERY_MS, CLIENTS_EVERY_MS, REGISTRY_CHANGES_SHOWN, HEALTH_CHANGES_SHOWN, type ClientCounts, type EventHub, type EventHubDeps, type HubEvent } from "./event-hub.js";
export { ACK_BOOKS, type AckBook, type AckEntry } from "./ack-books.js";
export { HISTORY_SAMPLES, type HealthCounts, type HistorySample } from "./service-stats.js";
export { NACK_WINDOW_MS } from "./nack-window.js";
