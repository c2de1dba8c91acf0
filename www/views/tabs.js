// SPDX-License-Identifier: MIT
// The tab row shared by the settings pages.

import { h } from '../ui.js';

const TABS = [
  ['/settings', 'General'],
  ['/settings/tls', 'TLS'],
  ['/settings/alerts', 'Alerts'],
  ['/settings/users', 'Users'],
  ['/settings/api-keys', 'API keys'],
  ['/settings/system', 'System'],
  ['/settings/account', 'Account'],
];

export function settingsTabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Settings sections' },
    TABS.map(([href, label]) => h('a', { href, class: 'tab', 'aria-current': href === current ? 'page' : null }, label)));
}
