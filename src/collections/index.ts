/**
 * Collections: data structures the rest of steadymesh shares. Plumbing: it
 * imports nothing of ours.
 */
export { SortedMap, type DiffHandlers } from "./sorted-map.js";
