// SPDX-License-Identifier: MIT
// A TCP forwarder for t/90-ui.sh: the stack's nginx listens on 127.0.0.1
// of the server namespace; the browser runs in a namespace of its own and
// reaches it through this (node forward.mjs LISTEN_IP PORT TARGET_IP PORT).

import net from 'node:net';

const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
if (!targetPort) {
  console.error('usage: node forward.mjs LISTEN_IP PORT TARGET_IP PORT');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), targetHost);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(Number(listenPort), listenHost, () => console.log(`forwarding ${listenHost}:${listenPort} to ${targetHost}:${targetPort}`));
