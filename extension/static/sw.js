// Thin loader for the service worker, written in Rust (src/service_worker.rs).
// Chrome only delivers events to listeners added on the worker's first turn,
// so the listeners are registered here and forward once the module is ready.
import init, {
  sw_on_message, sw_on_external_message, sw_refresh_badge, sw_configure_web_app, sw_warm,
} from './pkg/sw.js';

// The web app's origin is build configuration (web_app.json, written with the
// manifest's externally_connectable by scripts/web-app-origin.mjs). Without a
// usable file no page gets an answer.
const webApp = fetch('./web_app.json').then((r) => (r.ok ? r.json() : null)).catch(() => null);
const ready = Promise.all([init({ module_or_path: './pkg/sw_bg.wasm' }), webApp])
  .then(([, config]) => sw_configure_web_app(config));

// Start the host as the worker starts (the browser's start included), so the
// popup's first request does not wait for the host to start.
ready.then(sw_warm);

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== chrome.runtime.id) return false;
  ready.then(() => sw_on_message(message, sendResponse));
  return true; // the answer comes asynchronously
});

// The web app's pages (externally_connectable): only handoff offers and
// requests, only from the one configured origin, compared exactly in Rust
// (src/web_sync.rs). A refused sender gets an empty answer and nothing else.
chrome.runtime.onMessageExternal.addListener((message, sender, sendResponse) => {
  ready.then(() => sw_on_external_message(message, sender.origin ?? '', sendResponse));
  return true;
});

// The toolbar badge warns of a required setup or few recovery codes before
// anyone opens the popup.
chrome.runtime.onStartup.addListener(() => { ready.then(sw_refresh_badge); });
chrome.runtime.onInstalled.addListener(() => { ready.then(sw_refresh_badge); });
