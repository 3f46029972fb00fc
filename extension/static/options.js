// Thin loader: the settings page is written in Rust (src/settings.rs).
import init, { start_settings } from './pkg/options.js';

init({ module_or_path: './pkg/options_bg.wasm' }).then(start_settings);
