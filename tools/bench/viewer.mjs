// A viewer of cairnd's web room for tools/bench/web.sh: opens ws://HOST:PORT/ws with a plain
// websocket handshake (Node's net module, no package) and then either reads and drops every
// message (a browser that keeps up) or, with --stuck, never reads again (one that stopped).
// Runs until killed; prints how many bytes it read when it ends.
//   node tools/bench/viewer.mjs HOST:PORT [--stuck]
import net from 'node:net';

const [hostPort, mode] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const stuck = mode === '--stuck';
let read = 0;
const sock = net.connect({ host, port: Number(port) }, () => {
  sock.write(`GET /ws HTTP/1.1\r\nHost: ${hostPort}\r\nUpgrade: websocket\r\n` +
             'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
             'Sec-WebSocket-Version: 13\r\n\r\n');
});
sock.on('data', (chunk) => {
  read += chunk.length;
  if (stuck && chunk.toString('latin1').includes('101 Switching Protocols')) sock.pause();
});
sock.on('error', (e) => console.error(`viewer ${hostPort}: ${e.message}`));
sock.on('close', () => console.error(`viewer ${hostPort}: closed by the server after ${read} bytes`));
setInterval(() => {}, 1 << 30);  // a paused socket alone does not keep Node running
process.on('SIGTERM', () => {
  console.error(`viewer ${hostPort}: read ${read} bytes${stuck ? ' (stuck)' : ''}`);
  process.exit(0);
});
