// The interop application, served by the official StateFun JavaScript SDK (apache-flink-statefun
// 3.3.0). test/local/interop/app.hpp is the same application written with statefun-cpp; the
// interop test runs one scenario against both and expects the same egress records and states.
//
//   interop/greeter (id: a user)   counts the user's logins (TTL: 30 min after the last call)
//                                  and remembers their devices (TTL: 2 h after the last write);
//                                  greets each login on the Kafka egress interop/greets
//                                  (topic "greetings"), reports it to interop/stats, and after a
//                                  first login schedules a reminder in 60 s, cancelled by the
//                                  second login. "forget" deletes the user's state.
//   interop/stats (id: "global")   counts welcomes (first logins) and returning logins, and
//                                  writes an audit entry per login to the egress interop/audit.
//   interop/quote (id: an item)    answers a quantity (an int) with its price in cents (an int),
//                                  sent back to the caller, and counts the quotes it gave: the
//                                  callee of a durable statefun-cpp flow's ctx.call, which to
//                                  this function is an ordinary message from a caller.
//
// Run: node app.js [port]   (or STATEFUN_INTEROP_PORT=port; port 0 picks a free one). The first
// line on stdout is the port listened on (127.0.0.1 only). SIGTERM stops the server. SIGUSR2
// closes the idle keep-alive connections at once, as node does after 5 s idle, and says so on
// stdout with the number of connections accepted so far: the test makes the runtime meet
// pooled connections the server has closed without having to wait 5 s.

"use strict";

const http = require("http");
const {
  StateFun,
  messageBuilder,
  kafkaEgressMessage,
  egressMessageBuilder,
} = require("apache-flink-statefun");

const GREETER = "interop/greeter";
const STATS = "interop/stats";
const GREETS = "interop/greets"; // io.statefun.kafka.v1/egress
const AUDIT = "interop/audit"; // a plain egress: typed values as they are

// JSON value types. The C++ side (nlohmann/json) writes object keys in sorted order, so the
// objects below are built with their keys sorted too: then both write the same bytes.
const LOGIN = StateFun.jsonType("interop/login"); // {"device":"phone"}
const DEVICES = StateFun.jsonType("interop/devices"); // ["phone","laptop"]
const AUDIT_ENTRY = StateFun.jsonType("interop/audit_entry"); // {"login":2,"returning":1,"user":"ann","welcomes":3}

const REMINDER_DELAY_MS = 60 * 1000;
const LOGINS_TTL_MS = 30 * 60 * 1000;
const DEVICES_TTL_MS = 2 * 60 * 60 * 1000;

const QUOTE = "interop/quote";
const PRICES_IN_CENTS = { socks: 250, hats: 1200 };

const reminderToken = (user) => `remind-${user}`;

function greeting(user, seen) {
  if (seen === 1) {
    return `Hello ${user}! Welcome.`;
  }
  return `Hello ${user}! Nice to see you again (${seen} logins).`;
}

function login(context, { device }) {
  const user = context.self.id;
  const seen = (context.storage.logins ?? 0) + 1;
  context.storage.logins = seen;
  const devices = context.storage.devices ?? [];
  if (!devices.includes(device)) {
    devices.push(device);
    context.storage.devices = devices;
  }
  context.send(kafkaEgressMessage({ typename: GREETS, topic: "greetings", key: user, value: greeting(user, seen) }));
  context.send(messageBuilder({ typename: STATS, id: "global", value: seen })); // an io.statefun.types/int
  if (seen === 1) {
    const reminder = messageBuilder({ typename: GREETER, id: user, value: "remind" });
    context.sendAfter(REMINDER_DELAY_MS, reminder, reminderToken(user));
  } else if (seen === 2) {
    context.cancelDelayedMessage(reminderToken(user));
  }
}

function remind(context) {
  const user = context.self.id;
  const logins = context.storage.logins ?? 0;
  const devices = (context.storage.devices ?? []).join(", ");
  const text = `We miss you, ${user}! (${logins} login${logins === 1 ? "" : "s"}, on ${devices})`;
  context.send(kafkaEgressMessage({ typename: GREETS, topic: "reminders", key: user, value: text }));
}

function forget(context) {
  const user = context.self.id;
  context.storage.logins = null; // null deletes the value
  context.storage.devices = null;
  context.cancelDelayedMessage(reminderToken(user));
  context.send(kafkaEgressMessage({ typename: GREETS, topic: "forgotten", value: user })); // no key
}

function greeter(context, message) {
  if (message.is(LOGIN)) {
    return login(context, message.as(LOGIN));
  }
  if (message.isString()) {
    switch (message.asString()) {
      case "remind":
        return remind(context);
      case "forget":
        return forget(context);
    }
  }
  throw new Error(`${GREETER}: unexpected message of type ${message.valueTypeName}`);
}

function stats(context, message) {
  const login = message.asInt();
  const welcomes = (context.storage.welcomes ?? 0) + (login === 1 ? 1 : 0);
  const returning = (context.storage.returning ?? 0) + (login === 1 ? 0 : 1);
  context.storage.welcomes = welcomes;
  context.storage.returning = returning;
  const entry = { login, returning, user: context.caller.id, welcomes };
  context.send(egressMessageBuilder({ typename: AUDIT, value: entry, valueType: AUDIT_ENTRY }));
}

function quote(context, message) {
  const price = PRICES_IN_CENTS[context.self.id];
  if (price === undefined || context.caller === null) {
    throw new Error(`${QUOTE}: no price for ${context.self.id}, or no caller to answer`);
  }
  context.storage.quoted = (context.storage.quoted ?? 0) + 1;
  const reply = messageBuilder({ typename: context.caller.typename, id: context.caller.id, value: message.asInt() * price });
  context.send(reply); // an io.statefun.types/int
}

// The SDK answers 500 to a function that throws, and says nothing more: say why on stderr.
function logged(typename, fn) {
  return (context, message) => {
    try {
      return fn(context, message);
    } catch (e) {
      console.error(`${typename}/${context.self.id}: ${e}`);
      throw e;
    }
  };
}

const statefun = new StateFun();
statefun.bind({
  typename: GREETER,
  fn: logged(GREETER, greeter),
  specs: [
    { name: "logins", type: StateFun.intType(), expireAfterCall: LOGINS_TTL_MS },
    { name: "devices", type: DEVICES, expireAfterWrite: DEVICES_TTL_MS },
  ],
});
statefun.bind({
  typename: STATS,
  fn: logged(STATS, stats),
  specs: [
    { name: "welcomes", type: StateFun.intType() },
    { name: "returning", type: StateFun.intType() },
  ],
});

statefun.bind({
  typename: QUOTE,
  fn: logged(QUOTE, quote),
  specs: [{ name: "quoted", type: StateFun.intType() }],
});

const port = Number(process.argv[2] ?? process.env.STATEFUN_INTEROP_PORT ?? 8000);
const server = http.createServer(statefun.handler());
let accepted = 0;
server.on("connection", () => ++accepted);
server.listen(port, "127.0.0.1", () => {
  console.log(String(server.address().port));
});
process.on("SIGUSR2", () => {
  server.closeIdleConnections();
  console.log(`closed idle connections; ${accepted} accepted so far`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
