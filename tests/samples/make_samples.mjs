// Makes the reader tests' samples with the real tools: pino, pino-pretty and libsignal (libsignal-node).
// Regenerate (needs node and network to the npm registry):
//   d=$(mktemp -d) && (cd $d && npm init -y >/dev/null && npm i pino@10 pino-pretty@13 libsignal@6) &&
//   NODE_PATH=$d/node_modules node tests/samples/make_samples.mjs $d/node_modules tests/samples
// Everything is made up: two in-memory libsignal parties, fake numbers, no message content is logged.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [modules, out] = process.argv.slice(2)
const require = createRequire(join(modules, 'x.js'))

if (process.env.SAMPLE_CHILD) {
  await child()
} else {
  parent()
}

function parent() {
  const self = new URL(import.meta.url).pathname
  // the child writes pino (stdout) and libsignal's console (stderr) to one file, interleaved as a terminal shows them
  const combined = join(out, 'baileys-full.log')
  const fd = openSync(combined, 'w')
  const run = spawnSync(process.execPath, [self, modules, out], {
    stdio: ['ignore', fd, fd], env: { ...process.env, SAMPLE_CHILD: '1' },
  })
  closeSync(fd)
  if (run.status !== 0) throw new Error(`child failed: ${run.status}`)
  const full = readFileSync(combined, 'utf8')
  const json = full.split('\n').filter((l) => l.startsWith('{')).join('\n') + '\n'
  writeFileSync(join(out, 'baileys-pino.jsonl'), json)
  const consoleOnly = full.split('\n').filter((l) => l && !l.startsWith('{')).join('\n') + '\n'
  writeFileSync(join(out, 'libsignal-console.log'), consoleOnly)
  const pretty = join(modules, '.bin', 'pino-pretty')
  const render = (name, args, input = full) => {
    const r = spawnSync(pretty, args, { input, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`pino-pretty ${args}: ${r.stderr}`)
    writeFileSync(join(out, name), r.stdout)
  }
  // the operator's usual pipe: `node app.js | pino-pretty` (console lines pass through untouched)
  render('pretty-default.log', ['--no-colorize'])
  render('pretty-syslog-time.log', ['--no-colorize', '--translateTime', 'SYS:standard'])
  render('pretty-epoch.log', ['--no-colorize', '--translateTime', 'false'])
  render('pretty-single-line.log', ['--no-colorize', '--singleLine'])
  render('pretty-utc-iso.log', ['--no-colorize', '--translateTime', "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'"])
  objects()
}

// Records spread over lines: a bot that console.log()s the message Baileys hands it (Node's util.inspect),
// one that logs it as pretty-printed JSON, and older Baileys' 'failure in decrypting message' (params, trace).
function objects() {
  const util = require('node:util')
  const pino = require('pino')
  const message = (id, stub, params) => ({
    key: { remoteJid: '5511900000001@s.whatsapp.net', fromMe: false, id },
    messageTimestamp: 1767605410, messageStubType: stub, messageStubParameters: params,
  })
  const lines = []
  lines.push(util.inspect(message('MSG00006', 2, ['Bad MAC']), { depth: 4 }))
  lines.push(util.inspect(message('MSG00007', 1, []), { depth: 4 }))  // REVOKE: a deleted message, no failure
  lines.push(JSON.stringify(message('MSG00008', 2, ['No session record']), null, 2))
  const chunks = []
  const logger = pino({ timestamp: () => ',"time":1767605420000', base: null },
    { write: (chunk) => chunks.push(chunk) })
  const err = new Error('Bad MAC')
  logger.error({ params: ['5511900000001@s.whatsapp.net', 'MSG00009'], trace: err.stack }, 'failure in decrypting message')
  writeFileSync(join(out, 'baileys-objects.log'), lines.join('\n') + '\n' + chunks.join(''))
}

async function child() {
  const pino = require('pino')
  const libsignal = require('libsignal')
  // a fixed clock so the samples do not change from run to run
  let now = Date.UTC(2026, 0, 5, 9, 30, 0)
  const logger = pino({ level: 'debug', timestamp: () => `,"time":${now}`, base: { pid: 4242, hostname: 'bot-host' } },
    pino.destination({ dest: 1, sync: true }))
  const tick = (ms) => { now += ms }

  const party = (name, regId) => {
    const identity = libsignal.keyhelper.generateIdentityKeyPair()
    const sessions = new Map()
    const preKeys = new Map()
    const signed = libsignal.keyhelper.generateSignedPreKey(identity, 1)
    preKeys.set(7, libsignal.keyhelper.generatePreKey(7).keyPair)
    const store = {
      getOurIdentity: async () => identity,
      getOurRegistrationId: async () => regId,
      isTrustedIdentity: async () => true,
      loadSession: async (id) => sessions.get(id),
      storeSession: async (id, record) => { sessions.set(id, record) },
      loadPreKey: async (id) => preKeys.get(id),
      removePreKey: async (id) => { preKeys.delete(id) },
      loadSignedPreKey: async () => signed.keyPair,
    }
    return { name, regId, identity, signed, store, sessions, preKeys }
  }
  const alice = party('5511900000001', 1001)
  const bob = party('5511900000002', 1002)
  const addr = (p) => new libsignal.ProtocolAddress(p.name, 0)
  const jid = (p) => `${p.name}@s.whatsapp.net`
  const bundle = (p, preKeyId) => ({
    identityKey: p.identity.pubKey, registrationId: p.regId,
    preKey: { keyId: preKeyId, publicKey: libsignal.keyhelper.generatePreKey(preKeyId).keyPair.pubKey },
    signedPreKey: { keyId: 1, publicKey: p.signed.keyPair.pubKey, signature: p.signed.signature },
  })
  // Baileys src/Utils/decode-wa-message.ts (~361-370): the errorContext it logs for a failed decrypt
  const failed = (id, err, type) => logger.error(
    { key: { remoteJid: jid(alice), fromMe: false, id }, err, messageType: type, sender: jid(alice), author: jid(alice),
      isSessionRecordError: false },
    'failed to decrypt message')

  logger.info('opened connection to WA')
  // alice starts a session with bob's real prekey 7
  const realBundle = bundle(bob, 7)
  realBundle.preKey.publicKey = bob.preKeys.get(7).pubKey
  await new libsignal.SessionBuilder(alice.store, addr(bob)).initOutgoing(realBundle)
  const aliceCipher = new libsignal.SessionCipher(alice.store, addr(bob))
  const bobCipher = new libsignal.SessionCipher(bob.store, addr(alice))
  const first = await aliceCipher.encrypt(Buffer.from('one'))
  await bobCipher.decryptPreKeyWhisperMessage(Buffer.from(first.body, 'binary'))
  tick(1500)
  logger.debug({ key: { remoteJid: jid(alice), id: 'MSG00001' } }, 'decrypted message')
  // bob answers so alice's session turns to whisper messages
  const reply = await bobCipher.encrypt(Buffer.from('two'))
  await aliceCipher.decryptWhisperMessage(Buffer.from(reply.body, 'binary'))

  // 1. a tampered whisper message: libsignal prints its console block (Bad MAC), Baileys logs the wrapper
  const m2 = await aliceCipher.encrypt(Buffer.from('three'))
  const tampered = Buffer.from(m2.body, 'binary')
  tampered[tampered.length - 1] ^= 0xff
  tick(2000)
  try { await bobCipher.decryptWhisperMessage(tampered) } catch (err) { failed('MSG00002', err, 'msg') }

  // 2. the same message twice: the counter's key is used already (MessageCounterError inside the block)
  const m3 = await aliceCipher.encrypt(Buffer.from('four'))
  const m3body = Buffer.from(m3.body, 'binary')
  await bobCipher.decryptWhisperMessage(m3body)
  tick(800)
  try { await bobCipher.decryptWhisperMessage(m3body) } catch (err) { failed('MSG00003', err, 'msg') }

  // 3. a peer with no session at all
  const carol = party('5511900000003', 1003)
  const carolCipher = new libsignal.SessionCipher(carol.store, addr(alice))
  tick(1200)
  try { await carolCipher.decryptWhisperMessage(tampered) } catch (err) { failed('MSG00004', err, 'msg') }

  // 4. a prekey message naming a prekey bob no longer has
  const dave = party('5511900000004', 1004)
  await new libsignal.SessionBuilder(dave.store, addr(bob)).initOutgoing(bundle(bob, 99))
  const pk = await new libsignal.SessionCipher(dave.store, addr(bob)).encrypt(Buffer.from('five'))
  tick(600)
  try {
    await new libsignal.SessionCipher(bob.store, addr(dave)).decryptPreKeyWhisperMessage(Buffer.from(pk.body, 'binary'))
  } catch (err) { failed('MSG00005', err, 'pkmsg') }

  tick(3000)
  logger.info({ trace: 'Error: Connection Closed' }, 'connection closed')
}
