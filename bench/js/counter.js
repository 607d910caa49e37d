// The benchmark functions, written with the official StateFun JavaScript SDK
// (apache-flink-statefun 3.3.0), as bench/dispatch.cpp and bench/http_server.cpp write them
// with statefun-cpp: bench/counter adds 1 to its state `count`; bench/fanout does the same, then
// sends a message to bench/counter/user-2 and a record to the Kafka egress bench/egress.
//
//   node counter.js serve [PORT]           HTTP on 127.0.0.1 (0: any free port); prints
//                                          "listening on 127.0.0.1 PORT"
//   node counter.js dispatch FILE N RUNS   N requests of the ToFunction in FILE through the SDK's
//                                          request handler, in process, RUNS times; prints one JSON
//                                          line per run: {"requests", "seconds"}
//
// `dispatch` calls StateFun.handle() with a request and a response that are plain objects (no
// socket): what the SDK does per request, its body collection and response writing included.

"use strict";

const fs = require("fs");
const http = require("http");
const { StateFun, messageBuilder, kafkaEgressMessage } = require("apache-flink-statefun");

const statefun = new StateFun();
const specs = [{ name: "count", type: StateFun.intType() }];

statefun.bind({
  typename: "bench/counter",
  specs,
  fn(context) {
    context.storage.count = (context.storage.count ?? 0) + 1;
  },
});

statefun.bind({
  typename: "bench/fanout",
  specs,
  fn(context) {
    context.storage.count = (context.storage.count ?? 0) + 1;
    context.send(messageBuilder({ typename: "bench/counter", id: "user-2", value: "hello" }));
    context.send(kafkaEgressMessage({ typename: "bench/egress", topic: "out", key: context.self.id, value: "hello" }));
  },
});

function serve(port) {
  const server = http.createServer(statefun.handler());
  server.keepAliveTimeout = 60 * 1000; // as our server: the runtime closes idle connections first
  server.listen(port, "127.0.0.1", () => {
    console.log(`listening on 127.0.0.1 ${server.address().port}`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

/// A request that yields `body` once, and a response that keeps what is written to it.
function exchange(body) {
  const request = {
    async *[Symbol.asyncIterator]() {
      yield body;
    },
  };
  const response = {
    status: 0,
    body: null,
    writeHead(status) {
      this.status = status;
    },
    end(bytes) {
      this.body = bytes;
    },
  };
  return { request, response };
}

async function dispatch(file, count, runs) {
  const body = fs.readFileSync(file);
  // Checked before timed: a 200 with a body.
  const first = exchange(body);
  await statefun.handle(first.request, first.response);
  if (first.response.status !== 200 || !first.response.body) {
    throw new Error(`the SDK answered ${first.response.status} to ${file}`);
  }
  for (let i = 0; i < Math.min(1000, count); ++i) {
    const warm = exchange(body); // warm-up: a fixed count, as bench/dispatch
    await statefun.handle(warm.request, warm.response);
  }
  for (let run = 0; run < runs; ++run) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; ++i) {
      const { request, response } = exchange(body);
      await statefun.handle(request, response);
      if (response.status !== 200) {
        throw new Error(`the SDK answered ${response.status}`);
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(JSON.stringify({ requests: count, seconds }));
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "serve") {
  serve(Number(args[0] ?? 0));
} else if (mode === "dispatch" && args.length === 3) {
  dispatch(args[0], Number(args[1]), Number(args[2])).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
} else {
  console.error("usage: node counter.js serve [PORT] | dispatch FILE N RUNS");
  process.exit(2);
}
