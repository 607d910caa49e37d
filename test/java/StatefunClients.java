// StatefunClients: the StateFun runtime's two HTTP client stacks, configured as the runtime
// configures them (apache/flink-statefun, statefun-flink-core: httpfn/ for OkHttp behind
// io.statefun.endpoints.v2/http, nettyclient/ for Netty behind io.statefun.transports.v1/async),
// driving a remote function endpoint with real ToFunction requests; every response is parsed with
// protobuf-java (strict about UTF-8 in string fields, as the runtime is) and compared with the
// expected one where there is one. Written for statefun-cpp's test suite (test/java/run); see
// test/java/README.md. Exit status: 0 all good, 1 a failure (said on stderr), 2 bad usage.

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.ChannelPoolHandler;
import io.netty.channel.pool.FixedChannelPool;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import io.statefun.sdk.egress.KafkaEgress.KafkaProducerRecord;
import io.statefun.sdk.egress.KinesisEgress.KinesisEgressRecord;
import io.statefun.sdk.reqreply.RequestReply.FromFunction;
import io.statefun.sdk.reqreply.RequestReply.ToFunction;
import io.statefun.sdk.reqreply.RequestReply.TypedValue;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.ConnectionSpec;
import okhttp3.Dispatcher;
import okhttp3.Dns;
import okhttp3.EventListener;
import okhttp3.Handshake;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okhttp3.TlsVersion;

public final class StatefunClients {

  /** A failure the run reports and exits 1 for. */
  static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }

    Failure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Command line
  // ------------------------------------------------------------------------------------------

  enum Expect {
    PARSE, // the response only has to parse
    EQUIVALENT, // message-equal after normalising what SDKs may write differently
    EXACT // the same bytes
  }

  /** One request body, and what its response must be. */
  static final class Case {
    final String name;
    final ToFunction request;
    final Expect expect;
    final byte[] expected;

    Case(String name, ToFunction request, Expect expect, byte[] expected) {
      this.name = name;
      this.request = request;
      this.expect = expect;
      this.expected = expected;
    }
  }

  static final class Options {
    String mode;
    String endpoint;
    String trustCacerts;
    String clientCert;
    String clientKey;
    String tlsVersion; // "1.2", "1.3" or null: whatever the JDK negotiates, as the runtime does
    int rounds = 3;
    boolean requireResumption;
    final List<Case> cases = new ArrayList<>();
  }

  static void usage(String problem) {
    System.err.println("StatefunClients: " + problem);
    System.err.println(
        "usage: StatefunClients okhttp|netty ENDPOINT [--trust-cacerts CA.pem]\n"
            + "         [--client-cert CERT.pem --client-key KEY.pem] [--tls-version 1.2|1.3]\n"
            + "         [--rounds N] [--require-resumption]\n"
            + "         [--exact REQ RESP]... [--equivalent REQ RESP]... [--parse REQ]...\n"
            + "ENDPOINT: http://host:port/path, https://host:port/path, or (okhttp)\n"
            + "          http+unix:///path/to/file.sock/path as the runtime takes it");
    System.exit(2);
  }

  static Case readCase(Expect expect, String requestFile, String responseFile) throws Failure {
    byte[] body = readFile(requestFile);
    ToFunction request;
    try {
      request = ToFunction.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new Failure(requestFile + ": protobuf-java refuses it as a ToFunction: " + e.getMessage(), e);
    }
    byte[] expected = responseFile == null ? null : readFile(responseFile);
    if (expected != null) {
      parseResponse(responseFile + " (expected)", expected);
    }
    return new Case(Path.of(requestFile).getFileName().toString(), request, expect, expected);
  }

  static byte[] readFile(String file) throws Failure {
    try {
      return Files.readAllBytes(Path.of(file));
    } catch (IOException e) {
      throw new Failure("cannot read " + file + ": " + e, e);
    }
  }

  static Options parseArguments(String[] args) throws Failure {
    Options o = new Options();
    if (args.length < 2) {
      usage("needs a mode and an endpoint");
    }
    o.mode = args[0];
    o.endpoint = args[1];
    if (!o.mode.equals("okhttp") && !o.mode.equals("netty")) {
      usage("unknown mode " + o.mode);
    }
    for (int i = 2; i < args.length; ++i) {
      String a = args[i];
      int needs =
          switch (a) {
            case "--exact", "--equivalent" -> 2;
            case "--require-resumption" -> 0;
            default -> 1;
          };
      if (i + needs >= args.length) {
        usage(a + " needs " + needs + " value(s)");
      }
      switch (a) {
        case "--trust-cacerts" -> o.trustCacerts = args[++i];
        case "--client-cert" -> o.clientCert = args[++i];
        case "--client-key" -> o.clientKey = args[++i];
        case "--tls-version" -> o.tlsVersion = args[++i];
        case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
        case "--require-resumption" -> o.requireResumption = true;
        case "--exact" -> o.cases.add(readCase(Expect.EXACT, args[++i], args[++i]));
        case "--equivalent" -> o.cases.add(readCase(Expect.EQUIVALENT, args[++i], args[++i]));
        case "--parse" -> o.cases.add(readCase(Expect.PARSE, args[++i], null));
        default -> usage("unknown argument " + a);
      }
    }
    if ((o.clientCert == null) != (o.clientKey == null)) {
      // The runtime's own message (NettyClient.getSslContext).
      usage("You need to provide both the cert and the key if you want to use mutual TLS.");
    }
    if (o.tlsVersion != null && !o.tlsVersion.equals("1.2") && !o.tlsVersion.equals("1.3")) {
      usage("--tls-version is 1.2 or 1.3");
    }
    if (o.cases.isEmpty()) {
      usage("no request to send");
    }
    return o;
  }

  public static void main(String[] args) {
    try {
      Options options = parseArguments(args);
      Transport transport =
          options.mode.equals("okhttp") ? new OkHttpTransport(options) : new NettyTransport(options);
      try {
        run(options, transport);
      } finally {
        transport.close();
      }
    } catch (Failure e) {
      System.err.println("FAIL: " + e.getMessage());
      Throwable cause = e.getCause();
      while (cause != null) {
        System.err.println("  caused by: " + cause);
        cause = cause.getCause();
      }
      System.exit(1);
    } catch (Exception e) {
      System.err.println("FAIL: unexpected " + e);
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0); // Netty's and OkHttp's threads would keep the JVM up a while
  }

  // ------------------------------------------------------------------------------------------
  // The run: rounds of all cases at once, the pool emptied between rounds
  // ------------------------------------------------------------------------------------------

  /** What both stacks offer the run. */
  interface Transport extends AutoCloseable {
    /** Sends one request; completes with the parsed response and its bytes. */
    CompletableFuture<byte[]> call(ToFunction request);

    /** Closes the idle pooled connections, as the pool's keep-alive / TTL expiry does. */
    void expireIdleConnections() throws Failure;

    String describe();

    @Override
    void close();
  }

  /** Every TLS handshake of a run: how many, and how many resumed a session. */
  static final class Handshakes {
    private final Set<String> seenSessions = ConcurrentHashMap.newKeySet();
    final AtomicInteger completed = new AtomicInteger();
    final AtomicInteger sameSession = new AtomicInteger();
    /** Server certificate chains checked: one per full handshake, none when resumed. */
    final AtomicInteger certificateChecks = new AtomicInteger();
    volatile boolean countingChecks;
    final Set<String> protocols = ConcurrentHashMap.newKeySet();

    /** A handshake that completed with `session`. */
    void completed(SSLSession session) {
      completed.incrementAndGet();
      protocols.add(session.getProtocol());
      // TLS 1.2: a resumed handshake hands back the cached SSLSession (same id, creation time).
      String key = HexFormat.of().formatHex(session.getId()) + "@" + session.getCreationTime();
      if (!seenSessions.add(key)) {
        sameSession.incrementAndGet();
      }
    }

    /**
     * Resumed handshakes. With our trust manager in the chain: the handshakes that checked no
     * server certificate (TLS 1.2 and 1.3 alike); otherwise, the TLS 1.2 ones that reused a
     * session object (a resumed TLS 1.3 session is a new object), or -1 when TLS 1.3 hides it.
     */
    int resumed() {
      if (countingChecks) {
        return completed.get() - certificateChecks.get();
      }
      return protocols.contains("TLSv1.3") ? -1 : sameSession.get();
    }
  }

  static final Handshakes handshakes = new Handshakes();
  static final AtomicInteger connections = new AtomicInteger();

  static void run(Options o, Transport transport) throws Failure {
    boolean tls = o.endpoint.startsWith("https");
    System.out.println(transport.describe());
    for (int round = 1; round <= o.rounds; ++round) {
      int connectionsBefore = connections.get();
      List<CompletableFuture<byte[]>> calls = new ArrayList<>();
      for (Case c : o.cases) {
        calls.add(transport.call(c.request));
      }
      for (int i = 0; i < calls.size(); ++i) {
        Case c = o.cases.get(i);
        String where = "round " + round + ", " + c.name;
        byte[] body;
        try {
          body = calls.get(i).get(90, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          throw new Failure(where + ": the call failed: " + explain(e.getCause()), e.getCause());
        } catch (TimeoutException | InterruptedException e) {
          throw new Failure(where + ": no answer within 90 s", e);
        }
        check(where, c, body);
      }
      int opened = connections.get() - connectionsBefore;
      System.out.printf(
          "round %d: %d requests answered and checked, %d new connections%n",
          round, o.cases.size(), opened);
      if (round > 1 && opened == 0) {
        throw new Failure(
            "round " + round + " opened no connection: the pool was not emptied between rounds");
      }
      transport.expireIdleConnections();
    }
    if (tls) {
      int resumed = handshakes.resumed();
      System.out.printf(
          "TLS (%s): %d connections, %d handshakes, %s resumed%n",
          String.join(",", handshakes.protocols),
          connections.get(),
          handshakes.completed.get(),
          resumed < 0 ? "not measurable how many" : String.valueOf(resumed));
      if (handshakes.completed.get() != connections.get()) {
        throw new Failure(
            connections.get() + " connections but " + handshakes.completed.get() + " TLS handshakes seen");
      }
      if (o.requireResumption && o.rounds > 1 && resumed == 0) {
        throw new Failure("no TLS session was resumed on the reconnections of rounds 2-" + o.rounds);
      }
    }
    System.out.println("OK: " + o.mode + " " + o.endpoint);
  }

  /** A failed call, with what it most likely means for this server. */
  static String explain(Throwable t) {
    StringBuilder s = new StringBuilder(String.valueOf(t));
    for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      s.append(" <- ").append(c);
    }
    String all = s.toString();
    if (all.contains("internal_error") || all.contains("Received fatal alert")) {
      s.append(
          "\n  (the server sent a TLS alert; with a resumed session on an mTLS listener this is the"
              + " known 'session id context uninitialized' defect, issue 14 point 1)");
    } else if (all.contains("Connection reset") || all.contains("Broken pipe")) {
      s.append(
          "\n  (the server reset the connection while the client was still writing: a refusal"
              + " sent before the body was read, issue 14 point 5)");
    }
    return s.toString();
  }

  // ------------------------------------------------------------------------------------------
  // Checking responses
  // ------------------------------------------------------------------------------------------

  static FromFunction parseResponse(String where, byte[] body) throws Failure {
    try {
      // As both transports read it: a CodedInputStream over the whole body.
      return FromFunction.parser().parseFrom(CodedInputStream.newInstance(body));
    } catch (InvalidProtocolBufferException e) {
      throw new Failure(
          where + ": protobuf-java refuses the response (" + body.length + " bytes) as a FromFunction: "
              + e.getMessage(),
          e);
    }
  }

  static void check(String where, Case c, byte[] body) throws Failure {
    FromFunction got = parseResponse(where, body);
    checkEgressRecords(where, got);
    switch (c.expect) {
      case PARSE -> {}
      case EXACT -> {
        if (!Arrays.equals(body, c.expected)) {
          throw new Failure(
              where + ": the response differs from the expected bytes\n  got:\n" + got
                  + "\n  expected:\n" + parseResponse(where, c.expected));
        }
      }
      case EQUIVALENT -> {
        FromFunction expected = parseResponse(where, c.expected);
        Message a = normalise(got);
        Message b = normalise(expected);
        if (!a.equals(b)) {
          throw new Failure(
              where + ": the response is not equivalent to the expected one\n  got:\n" + got
                  + "\n  expected:\n" + expected);
        }
      }
    }
  }

  /** Kafka and Kinesis records must parse too: the runtime's egresses parse them with protobuf-java. */
  static void checkEgressRecords(String where, FromFunction f) throws Failure {
    for (FromFunction.EgressMessage e : f.getInvocationResult().getOutgoingEgressesList()) {
      TypedValue v = e.getArgument();
      try {
        if (v.getTypename().endsWith("KafkaProducerRecord")) {
          KafkaProducerRecord.parseFrom(v.getValue());
        } else if (v.getTypename().endsWith("KinesisEgressRecord")) {
          KinesisEgressRecord.parseFrom(v.getValue());
        }
      } catch (InvalidProtocolBufferException ex) {
        throw new Failure(where + ": egress record " + v.getTypename() + " does not parse: " + ex.getMessage(), ex);
      }
    }
  }

  /**
   * The message with what SDKs may write differently made canonical (as test/support/
   * equivalent.hpp does): JSON payloads as canonical JSON (Kafka and Kinesis record values
   * included), and an empty ExpirationSpec left out (both mean NONE).
   */
  static Message normalise(Message m) {
    Message.Builder b = m.toBuilder();
    for (Map.Entry<FieldDescriptor, Object> field : m.getAllFields().entrySet()) {
      FieldDescriptor fd = field.getKey();
      if (fd.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (fd.isRepeated()) {
        List<?> items = (List<?>) field.getValue();
        for (int i = 0; i < items.size(); ++i) {
          b.setRepeatedField(fd, i, normaliseValue((Message) items.get(i)));
        }
      } else {
        Message child = (Message) field.getValue();
        if (child instanceof FromFunction.ExpirationSpec
            && child.equals(FromFunction.ExpirationSpec.getDefaultInstance())) {
          b.clearField(fd);
        } else {
          b.setField(fd, normaliseValue(child));
        }
      }
    }
    return b.build();
  }

  static Message normaliseValue(Message m) {
    if (!(m instanceof TypedValue)) {
      return normalise(m);
    }
    TypedValue v = (TypedValue) m;
    try {
      if (v.getTypename().endsWith("KafkaProducerRecord")) {
        KafkaProducerRecord r = KafkaProducerRecord.parseFrom(v.getValue());
        r = r.toBuilder().setValueBytes(canonicalPayload(r.getValueBytes())).build();
        return v.toBuilder().setValue(r.toByteString()).build();
      }
      if (v.getTypename().endsWith("KinesisEgressRecord")) {
        KinesisEgressRecord r = KinesisEgressRecord.parseFrom(v.getValue());
        r = r.toBuilder().setValueBytes(canonicalPayload(r.getValueBytes())).build();
        return v.toBuilder().setValue(r.toByteString()).build();
      }
    } catch (InvalidProtocolBufferException e) {
      return v; // compared as bytes; checkEgressRecords reports it
    }
    return v.toBuilder().setValue(canonicalPayload(v.getValue())).build();
  }

  static com.google.protobuf.ByteString canonicalPayload(com.google.protobuf.ByteString bytes) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .decode(bytes.asReadOnlyByteBuffer())
              .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return bytes;
    }
    try {
      Json parser = new Json(text);
      Object value = parser.value();
      parser.end();
      return com.google.protobuf.ByteString.copyFromUtf8("json:" + Json.canonical(value));
    } catch (IllegalArgumentException notJson) {
      return bytes;
    }
  }

  /** Just enough JSON to compare two payloads as values: objects, arrays, strings, numbers. */
  static final class Json {
    private final String s;
    private int i;

    Json(String s) {
      this.s = s;
    }

    void end() {
      space();
      if (i != s.length()) {
        throw new IllegalArgumentException("trailing bytes");
      }
    }

    private void space() {
      while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
        ++i;
      }
    }

    private char peek() {
      space();
      if (i >= s.length()) {
        throw new IllegalArgumentException("end of input");
      }
      return s.charAt(i);
    }

    private void expect(char c) {
      if (peek() != c) {
        throw new IllegalArgumentException("expected " + c);
      }
      ++i;
    }

    Object value() {
      char c = peek();
      if (c == '{') {
        ++i;
        Map<String, Object> map = new TreeMap<>();
        if (peek() == '}') {
          ++i;
          return map;
        }
        do {
          String key = string();
          expect(':');
          map.put(key, value());
        } while (comma());
        expect('}');
        return map;
      }
      if (c == '[') {
        ++i;
        List<Object> list = new ArrayList<>();
        if (peek() == ']') {
          ++i;
          return list;
        }
        do {
          list.add(value());
        } while (comma());
        expect(']');
        return list;
      }
      if (c == '"') {
        return string();
      }
      for (String word : new String[] {"true", "false", "null"}) {
        if (s.startsWith(word, i)) {
          i += word.length();
          return word;
        }
      }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        ++i;
      }
      try {
        return new BigDecimal(s.substring(start, i)).stripTrailingZeros();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not JSON");
      }
    }

    private boolean comma() {
      if (peek() == ',') {
        ++i;
        return true;
      }
      return false;
    }

    private String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (i < s.length() && s.charAt(i) != '"') {
        char c = s.charAt(i++);
        if (c == '\\' && i < s.length()) {
          char e = s.charAt(i++);
          switch (e) {
            case 'n' -> out.append('\n');
            case 't' -> out.append('\t');
            case 'r' -> out.append('\r');
            case 'b' -> out.append('\b');
            case 'f' -> out.append('\f');
            case 'u' -> {
              out.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
              i += 4;
            }
            default -> out.append(e);
          }
        } else {
          out.append(c);
        }
      }
      expect('"');
      return out.toString();
    }

    static String canonical(Object v) {
      if (v instanceof Map<?, ?> m) {
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<?, ?> e : m.entrySet()) {
          s.append(s.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":");
          s.append(canonical(e.getValue()));
        }
        return s.append('}').toString();
      }
      if (v instanceof List<?> l) {
        List<String> parts = new ArrayList<>();
        for (Object o : l) {
          parts.add(canonical(o));
        }
        return "[" + String.join(",", parts) + "]";
      }
      if (v instanceof BigDecimal d) {
        return d.toPlainString();
      }
      if (v instanceof String str) {
        return str.equals("true") || str.equals("false") || str.equals("null") ? str : '"' + str + '"';
      }
      return String.valueOf(v);
    }
  }

  // ------------------------------------------------------------------------------------------
  // TLS material from PEM files (what trust_cacerts, client_cert and client_key name)
  // ------------------------------------------------------------------------------------------

  static List<X509Certificate> readCertificates(String file) throws Failure {
    try (InputStream in = Files.newInputStream(Path.of(file))) {
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new Failure(file + ": no certificate in it");
      }
      return out;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new Failure(file + ": cannot read certificates: " + e, e);
    }
  }

  static PrivateKey readPkcs8Key(String file) throws Failure {
    String pem = new String(readFile(file), StandardCharsets.US_ASCII);
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < 0) {
      throw new Failure(file + ": not a PKCS#8 PEM key (BEGIN PRIVATE KEY)");
    }
    byte[] der =
        Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (java.security.GeneralSecurityException tryNext) {
        // another algorithm
      }
    }
    throw new Failure(file + ": an RSA, EC or Ed25519 PKCS#8 key was expected");
  }

  // ------------------------------------------------------------------------------------------
  // OkHttp: io.statefun.endpoints.v2/http (DefaultHttpRequestReplyClientFactory, OkHttpUtils)
  // ------------------------------------------------------------------------------------------

  static final class OkHttpTransport implements Transport {
    private static final MediaType OCTET_STREAM = MediaType.parse("application/octet-stream");
    private final OkHttpClient client;
    private final HttpUrl url;
    private final String description;

    OkHttpTransport(Options o) throws Failure {
      // OkHttpUtils.newClient: one shared client, unbounded dispatcher, a pool of 1024 idle
      // connections kept 1 minute, redirects followed, connection failures retried.
      Dispatcher dispatcher = new Dispatcher();
      dispatcher.setMaxRequestsPerHost(Integer.MAX_VALUE);
      dispatcher.setMaxRequests(Integer.MAX_VALUE);
      OkHttpClient.Builder builder =
          new OkHttpClient.Builder()
              .dispatcher(dispatcher)
              .connectionPool(new ConnectionPool(1024, 1, TimeUnit.MINUTES))
              .followRedirects(true)
              .followSslRedirects(true)
              .retryOnConnectionFailure(true)
              // The endpoint's spec defaults (DefaultHttpRequestReplyClientSpec.Timeouts).
              .callTimeout(Duration.ofMinutes(1))
              .connectTimeout(Duration.ofSeconds(10))
              .readTimeout(Duration.ofSeconds(10))
              .writeTimeout(Duration.ofSeconds(10))
              .eventListener(
                  new EventListener() {
                    @Override
                    public void connectStart(Call call, InetSocketAddress address, Proxy proxy) {
                      connections.incrementAndGet();
                    }
                  });
      StringBuilder what = new StringBuilder("okhttp 3 (io.statefun.endpoints.v2/http)");
      if (o.endpoint.startsWith("http+unix://") || o.endpoint.startsWith("https+unix://")) {
        // UnixDomainHttpEndpoint + OkHttpUnixSocketBridge: the socket file is the path up to the
        // first segment ending in .sock; the rest becomes ONE path segment (its '/' escaped: the
        // runtime's URL really is http://unused/%2Fstatefun), host names resolve to 0.0.0.0.
        String path = java.net.URI.create(o.endpoint).getPath();
        int sock = path.indexOf(".sock");
        if (sock < 0) {
          usage("a Unix socket endpoint needs a .sock file in its path");
        }
        File socketFile = new File(path.substring(0, sock + 5));
        String rest = path.substring(sock + 5);
        url =
            new HttpUrl.Builder()
                .scheme("http")
                .host("unused")
                .addPathSegment(rest.isEmpty() ? "/" : rest)
                .build();
        builder.socketFactory(new UnixSocketFactory(socketFile)).dns(hostname -> List.of(
            InetAddress.getByAddress(hostname, new byte[] {0, 0, 0, 0})));
        what.append(", Unix socket ").append(socketFile).append(", URL ").append(url);
      } else {
        url = HttpUrl.get(o.endpoint);
      }
      if (url.isHttps()) {
        configureTls(o, builder, what);
      }
      client = builder.build();
      description = what.toString();
    }

    /**
     * The runtime gives OkHttp no TLS settings: it uses the JVM's trust store (what
     * javax.net.ssl.trustStore names) and presents no client certificate. We do the same through
     * the system property, and wrap the socket factory only to watch handshakes. A client
     * certificate (--client-cert) goes beyond the runtime: a key manager of our own.
     */
    private static void configureTls(Options o, OkHttpClient.Builder builder, StringBuilder what)
        throws Failure {
      try {
        if (o.trustCacerts != null) {
          KeyStore trust = KeyStore.getInstance("PKCS12");
          trust.load(null, null);
          int n = 0;
          for (X509Certificate c : readCertificates(o.trustCacerts)) {
            trust.setCertificateEntry("ca-" + n++, c);
          }
          File store = File.createTempFile("statefun-trust", ".p12");
          store.deleteOnExit();
          try (OutputStream out = Files.newOutputStream(store.toPath())) {
            trust.store(out, "changeit".toCharArray());
          }
          System.setProperty("javax.net.ssl.trustStore", store.getPath());
          System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
          System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
          what.append(", trust store -Djavax.net.ssl.trustStore (from ").append(o.trustCacerts).append(')');
        }
        // OkHttp's own default (Util.platformTrustManager + Platform.getSSLContext).
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        X509TrustManager trustManager =
            new CountingTrustManager((javax.net.ssl.X509ExtendedTrustManager) tmf.getTrustManagers()[0]);
        handshakes.countingChecks = true;
        KeyManager[] keyManagers = null;
        if (o.clientCert != null) {
          KeyStore keys = KeyStore.getInstance("PKCS12");
          keys.load(null, null);
          keys.setKeyEntry(
              "client",
              readPkcs8Key(o.clientKey),
              new char[0],
              readCertificates(o.clientCert).toArray(new Certificate[0]));
          KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
          kmf.init(keys, new char[0]);
          keyManagers = kmf.getKeyManagers();
          what.append(", client certificate ").append(o.clientCert).append(" (beyond the runtime)");
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers, new TrustManager[] {trustManager}, null);
        builder.sslSocketFactory(new WatchingSocketFactory(context.getSocketFactory()), trustManager);
        if (o.tlsVersion != null) {
          TlsVersion version = o.tlsVersion.equals("1.2") ? TlsVersion.TLS_1_2 : TlsVersion.TLS_1_3;
          builder.connectionSpecs(
              List.of(new ConnectionSpec.Builder(ConnectionSpec.MODERN_TLS).tlsVersions(version).build()));
          what.append(", TLS ").append(o.tlsVersion).append(" only");
        }
      } catch (IOException | java.security.GeneralSecurityException e) {
        throw new Failure("TLS setup: " + e, e);
      }
    }

    @Override
    public CompletableFuture<byte[]> call(ToFunction toFunction) {
      // DefaultHttpRequestReplyClient.call: POST the serialised ToFunction, octet-stream.
      Request request =
          new Request.Builder().url(url).post(RequestBody.create(OCTET_STREAM, toFunction.toByteArray())).build();
      CompletableFuture<byte[]> result = new CompletableFuture<>();
      client
          .newCall(request)
          .enqueue(
              new Callback() {
                @Override
                public void onFailure(Call call, IOException e) {
                  result.completeExceptionally(e);
                }

                @Override
                public void onResponse(Call call, Response response) {
                  try (ResponseBody body = response.body()) {
                    // DefaultHttpRequestReplyClient.responseBody: the runtime's three checks.
                    if (!response.isSuccessful()) {
                      throw new IllegalStateException(
                          "Unexpected HTTP status code " + response.code() + ": "
                              + (body == null ? "" : body.string()));
                    }
                    if (body == null) {
                      throw new IllegalStateException("Unexpected empty HTTP response (no body)");
                    }
                    if (!OCTET_STREAM.equals(body.contentType())) {
                      throw new IllegalStateException("Wrong HTTP content-type " + body.contentType());
                    }
                    result.complete(body.bytes());
                  } catch (Exception e) {
                    result.completeExceptionally(e);
                  }
                }
              });
      return result;
    }

    @Override
    public void expireIdleConnections() throws Failure {
      client.connectionPool().evictAll();
      if (client.connectionPool().connectionCount() != 0) {
        throw new Failure(client.connectionPool().connectionCount() + " connections still pooled after evictAll");
      }
    }

    @Override
    public String describe() {
      return description;
    }

    @Override
    public void close() {
      client.dispatcher().executorService().shutdownNow();
      client.connectionPool().evictAll();
    }
  }

  /** The platform's trust manager, counting the server certificate chains it checks. */
  static final class CountingTrustManager extends javax.net.ssl.X509ExtendedTrustManager {
    private final javax.net.ssl.X509ExtendedTrustManager delegate;

    CountingTrustManager(javax.net.ssl.X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws java.security.cert.CertificateException {
      handshakes.certificateChecks.incrementAndGet();
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      handshakes.certificateChecks.incrementAndGet();
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      handshakes.certificateChecks.incrementAndGet();
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws java.security.cert.CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }

  /** An SSLSocketFactory that reports every completed handshake to {@link #handshakes}. */
  static final class WatchingSocketFactory extends SSLSocketFactory {
    private final SSLSocketFactory delegate;

    WatchingSocketFactory(SSLSocketFactory delegate) {
      this.delegate = delegate;
    }

    private Socket watch(Socket s) {
      if (s instanceof SSLSocket ssl) {
        ssl.addHandshakeCompletedListener(event -> handshakes.completed(event.getSession()));
      }
      return s;
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return delegate.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
      return watch(delegate.createSocket(s, host, port, autoClose));
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return watch(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
      return watch(delegate.createSocket(host, port, local, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return watch(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
      return watch(delegate.createSocket(host, port, local, localPort));
    }
  }

  /**
   * The runtime's OkHttpUnixSocketBridge uses junixsocket; JDK 16+ has Unix domain socket
   * channels, which this wraps as the java.net.Socket OkHttp expects. Unlike the runtime's bridge,
   * setSoTimeout works (OkHttp's health check of a pooled connection reads with a 1 ms timeout).
   */
  static final class UnixSocketFactory extends SocketFactory {
    private final File file;

    UnixSocketFactory(File file) {
      this.file = file;
    }

    @Override
    public Socket createSocket() {
      return new UnixSocket(file);
    }

    @Override
    public Socket createSocket(String host, int port) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException();
    }
  }

  static final class UnixSocket extends Socket {
    private final File file;
    private SocketChannel channel;
    private Selector readable;
    private Selector writable;
    private volatile int timeoutMillis;
    private volatile boolean closed;

    UnixSocket(File file) {
      this.file = file;
    }

    @Override
    public void connect(SocketAddress ignored, int timeout) throws IOException {
      channel = SocketChannel.open(UnixDomainSocketAddress.of(file.toPath()));
      channel.configureBlocking(false);
      readable = Selector.open();
      writable = Selector.open();
      channel.register(readable, SelectionKey.OP_READ);
      channel.register(writable, SelectionKey.OP_WRITE);
    }

    @Override
    public boolean isConnected() {
      return channel != null && channel.isConnected();
    }

    @Override
    public boolean isClosed() {
      return closed;
    }

    @Override
    public void setSoTimeout(int timeout) {
      timeoutMillis = timeout;
    }

    @Override
    public int getSoTimeout() {
      return timeoutMillis;
    }

    @Override
    public InputStream getInputStream() {
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (len == 0) {
            return 0;
          }
          ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
          long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
          while (true) {
            int n = channel.read(buffer);
            if (n != 0) {
              return n;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (timeoutMillis > 0 && left <= 0) {
              throw new SocketTimeoutException("Read timed out");
            }
            readable.select(timeoutMillis > 0 ? Math.max(1, left) : 0);
            readable.selectedKeys().clear();
            if (closed) {
              throw new java.net.SocketException("Socket closed");
            }
          }
        }
      };
    }

    @Override
    public OutputStream getOutputStream() {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
          while (buffer.hasRemaining()) {
            if (channel.write(buffer) == 0) {
              writable.select(1000);
              writable.selectedKeys().clear();
              if (closed) {
                throw new java.net.SocketException("Socket closed");
              }
            }
          }
        }
      };
    }

    @Override
    public synchronized void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (channel != null) {
        readable.wakeup();
        writable.wakeup();
        channel.close();
        readable.close();
        writable.close();
      }
    }

    @Override
    public void shutdownInput() throws IOException {
      channel.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
      channel.shutdownOutput();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Netty: io.statefun.transports.v1/async (NettyClient, NettySharedResources,
  // HttpConnectionPoolManager, HttpConnectionPoolHandler, NettyRequestReplyHandler)
  // ------------------------------------------------------------------------------------------

  static final AttributeKey<Boolean> ACQUIRED = AttributeKey.valueOf("statefun-test-acquired");
  static final AttributeKey<Boolean> EXPIRED = AttributeKey.valueOf("statefun-test-expired");
  static final AttributeKey<Throwable> HANDSHAKE_FAILURE = AttributeKey.valueOf("statefun-test-handshake");

  static final class NettyTransport implements Transport {
    // NettyRequestReplySpec defaults.
    static final Duration CALL_TIMEOUT = Duration.ofMinutes(2);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);
    static final Duration POOLED_CONNECTION_TTL = Duration.ofSeconds(15);
    static final int POOL_MAX_SIZE = 1024;
    static final int MAX_PAYLOAD_BYTES = 32 * 1048576;

    private final EventLoopGroup group;
    private final FixedChannelPool pool;
    private final String path;
    private final DefaultHttpHeaders headers;
    private final List<Channel> channels = Collections.synchronizedList(new ArrayList<>());
    private final String description;

    NettyTransport(Options o) throws Failure {
      java.net.URI uri = java.net.URI.create(o.endpoint);
      if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())) {
        // The runtime's Endpoint takes host and port only: no Unix sockets on this transport.
        usage("the Netty transport takes http:// and https:// endpoints only");
      }
      boolean tls = uri.getScheme().equalsIgnoreCase("https");
      int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
      InetSocketAddress service = InetSocketAddress.createUnresolved(uri.getHost(), port);
      path = (uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath())
          + (uri.getQuery() == null ? "" : "?" + uri.getQuery());
      // NettyHeaders.defaultHeadersFor.
      headers = new DefaultHttpHeaders();
      headers.add(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
      headers.add(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_OCTET_STREAM);
      headers.add(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.GZIP_DEFLATE);
      headers.add(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      headers.add(HttpHeaderNames.USER_AGENT, "statefun");
      headers.add(HttpHeaderNames.HOST, port == 80 || port == 443 ? uri.getHost() : uri.getHost() + ":" + port);

      // NettySharedResources: epoll when the native transport loads, NIO otherwise.
      StringBuilder what = new StringBuilder("netty 4.1 (io.statefun.transports.v1/async)");
      Class<? extends Channel> channelClass;
      if (Epoll.isAvailable()) {
        group = new EpollEventLoopGroup(daemonThreads("netty-http-worker"));
        channelClass = EpollSocketChannel.class;
        what.append(", epoll");
      } else {
        group = new NioEventLoopGroup(daemonThreads("netty-http-client"));
        channelClass = NioSocketChannel.class;
        what.append(", NIO");
      }
      Bootstrap bootstrap = new Bootstrap().group(group).channel(channelClass);
      bootstrap.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis());
      bootstrap.option(ChannelOption.SO_KEEPALIVE, true);
      bootstrap.remoteAddress(service);
      SslContext ssl = tls ? sslContext(o, what) : null;
      ChannelPoolHandler poolHandler =
          new ChannelPoolHandler() {
            @Override
            public void channelAcquired(Channel ch) {
              ch.attr(ACQUIRED).set(Boolean.TRUE);
            }

            @Override
            public void channelReleased(Channel ch) {
              ch.attr(ACQUIRED).set(Boolean.FALSE);
              ch.pipeline().get(RequestReplyHandler.class).released();
              // Expired while its last request was on the way back: closed as it goes idle.
              if (ch.attr(EXPIRED).get() == Boolean.TRUE) {
                ch.close();
              }
            }

            @Override
            public void channelCreated(Channel ch) {
              // HttpConnectionPoolManager.channelCreated.
              connections.incrementAndGet();
              channels.add(ch);
              if (ssl != null) {
                SslHandler handler = ssl.newHandler(ch.alloc(), service.getHostString(), service.getPort());
                handler.handshakeFuture().addListener(f -> {
                  if (f.isSuccess()) {
                    handshakes.completed(handler.engine().getSession());
                  } else {
                    ch.attr(HANDSHAKE_FAILURE).set(f.cause());
                  }
                });
                ch.pipeline().addLast(handler);
              }
              ch.pipeline().addLast(new HttpClientCodec());
              ch.pipeline().addLast(new HttpContentDecompressor(true));
              ch.pipeline().addLast(new HttpObjectAggregator(MAX_PAYLOAD_BYTES, true));
              ch.pipeline().addLast(new RequestReplyHandler());
              ch.pipeline().addLast(new TtlHandler(POOLED_CONNECTION_TTL.toMillis()));
            }
          };
      pool =
          new FixedChannelPool(
              bootstrap,
              poolHandler,
              ChannelHealthChecker.ACTIVE,
              FixedChannelPool.AcquireTimeoutAction.FAIL,
              CONNECT_TIMEOUT.toMillis(),
              POOL_MAX_SIZE,
              Integer.MAX_VALUE,
              true,
              true);
      description = what.toString();
    }

    private static SslContext sslContext(Options o, StringBuilder what) throws Failure {
      // NettyClient.getSslContext: trust_cacerts, client_cert + client_key, JDK or OpenSSL engine
      // as Netty picks (Debian ships no netty-tcnative: the JDK's).
      try {
        SslContextBuilder b = SslContextBuilder.forClient();
        if (o.trustCacerts != null) {
          b.trustManager(new ByteArrayInputStream(readFile(o.trustCacerts)));
          what.append(", trust_cacerts ").append(o.trustCacerts);
        }
        if (o.clientCert != null) {
          b.keyManager(
              new ByteArrayInputStream(readFile(o.clientCert)), new ByteArrayInputStream(readFile(o.clientKey)));
          what.append(", client_cert ").append(o.clientCert);
        }
        if (o.tlsVersion != null) {
          b.protocols("TLSv" + o.tlsVersion);
          what.append(", TLS ").append(o.tlsVersion).append(" only");
        }
        SslContext context = b.build();
        what.append(", ").append(context.getClass().getSimpleName());
        return context;
      } catch (IOException e) {
        throw new Failure("Could not build the ssl context: " + e, e);
      }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
      return r -> {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
      };
    }

    @Override
    public CompletableFuture<byte[]> call(ToFunction toFunction) {
      CompletableFuture<byte[]> result = new CompletableFuture<>();
      CompletableFuture<byte[]> attempt = new CompletableFuture<>();
      pool.acquire()
          .addListener(
              acquired -> {
                if (!acquired.isSuccess()) {
                  result.completeExceptionally(acquired.cause());
                  return;
                }
                Channel ch = (Channel) acquired.getNow();
                result.whenComplete((ignored, error) -> release(ch));
                attempt.whenComplete(
                    (body, error) -> {
                      Throwable handshake = ch.attr(HANDSHAKE_FAILURE).get();
                      if (error == null) {
                        result.complete(body);
                      } else if (handshake != null) {
                        result.completeExceptionally(
                            new IOException("TLS handshake failed: " + handshake, handshake));
                      } else {
                        result.completeExceptionally(error);
                      }
                    });
                ch.writeAndFlush(new Outgoing(toFunction, attempt, path, headers))
                    .addListener(
                        written -> {
                          if (!written.isSuccess()) {
                            attempt.completeExceptionally(written.cause());
                          }
                        });
              });
      return result;
    }

    /** NettyClient.releaseChannel0: an expired channel is closed, then given back. */
    private void release(Channel ch) {
      ch.eventLoop()
          .execute(
              () -> {
                if (ch.isActive() && ch.attr(EXPIRED).get() == Boolean.TRUE) {
                  ch.close().addListener(ignored -> pool.release(ch));
                } else {
                  pool.release(ch);
                }
              });
    }

    @Override
    public void expireIdleConnections() throws Failure {
      // What the TTL timer does when it fires: mark the channel expired and close it when idle
      // (the pool's health check drops it at the next acquire).
      List<Channel> all;
      synchronized (channels) {
        all = new ArrayList<>(channels);
      }
      for (Channel ch : all) {
        try {
          ch.eventLoop().submit(() -> TtlHandler.expire(ch)).get(10, TimeUnit.SECONDS);
          ch.closeFuture().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new Failure("expiring a pooled channel: " + e, e);
        }
        if (ch.isActive()) {
          throw new Failure("a pooled channel is still open after its expiry (still acquired?)");
        }
      }
    }

    @Override
    public String describe() {
      return description;
    }

    @Override
    public void close() {
      pool.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** A request on its way into a channel's pipeline, with where its answer goes. */
  static final class Outgoing {
    final ToFunction toFunction;
    final CompletableFuture<byte[]> result;
    final String path;
    final HttpHeaders headers;

    Outgoing(ToFunction toFunction, CompletableFuture<byte[]> result, String path, HttpHeaders headers) {
      this.toFunction = toFunction;
      this.result = result;
      this.path = path;
      this.headers = headers;
    }
  }

  /** As NettyRequestReplyHandler: one request at a time, the call budget as a timer, strict checks. */
  static final class RequestReplyHandler extends ChannelDuplexHandler {
    private Outgoing inflight;
    private ScheduledFuture<?> timeout;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise)
        throws Exception {
      if (!(msg instanceof Outgoing)) {
        super.write(ctx, msg, promise);
        return;
      }
      Outgoing out = (Outgoing) msg;
      if (inflight != null) {
        out.result.completeExceptionally(new IllegalStateException("A Channel has not finished the previous request."));
        return;
      }
      inflight = out;
      byte[] body = out.toFunction.toByteArray();
      ByteBuf content = Unpooled.wrappedBuffer(body);
      DefaultHttpHeaders h = new DefaultHttpHeaders();
      h.add(out.headers);
      h.set(HttpHeaderNames.CONTENT_LENGTH, body.length);
      ctx.writeAndFlush(
          new DefaultFullHttpRequest(
              HttpVersion.HTTP_1_1, HttpMethod.POST, out.path, content, h, new DefaultHttpHeaders()),
          promise);
      // NettyRequestReplyHandler.scheduleRequestTimeout: at least 7-13 ms, else the budget.
      long budget =
          Math.max(ThreadLocalRandom.current().nextLong(7_000_000, 13_000_000), NettyTransport.CALL_TIMEOUT.toNanos());
      timeout =
          ctx.executor()
              .schedule(() -> fail(ctx, new TimeoutException("request timed out")), budget, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (!(msg instanceof FullHttpResponse)) {
          throw new IllegalStateException("Unexpected message type " + msg);
        }
        FullHttpResponse response = (FullHttpResponse) msg;
        Outgoing current = inflight;
        if (current == null) {
          throw new IllegalStateException("A read without a request");
        }
        cancelTimeout();
        int code = response.status().code();
        if (code < 200 || code >= 300) {
          throw new IllegalStateException(
              "Unexpected response code " + code + " (" + response.status().reasonPhrase() + ") "
                  + response.content().toString(StandardCharsets.UTF_8));
        }
        if (!response.headers().containsValue(
            HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM, true)) {
          throw new IllegalStateException(
              "Unexpected content type " + response.headers().get(HttpHeaderNames.CONTENT_TYPE));
        }
        byte[] body = new byte[response.content().readableBytes()];
        response.content().getBytes(response.content().readerIndex(), body);
        inflight = null;
        current.result.complete(body);
      } catch (Throwable t) {
        fail(ctx, t);
      } finally {
        io.netty.util.ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(ctx, cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      cancelTimeout();
      complete(new IOException("disconnected"));
      super.channelInactive(ctx);
    }

    void released() {
      cancelTimeout();
      inflight = null;
    }

    private void fail(ChannelHandlerContext ctx, Throwable cause) {
      cancelTimeout();
      if (ctx.channel().isActive()) {
        ctx.channel().close().addListener(ignored -> complete(cause));
      } else {
        complete(cause);
      }
    }

    private void complete(Throwable cause) {
      Outgoing current = inflight;
      inflight = null;
      if (current != null) {
        current.result.completeExceptionally(cause);
      }
    }

    private void cancelTimeout() {
      if (timeout != null) {
        timeout.cancel(false);
        timeout = null;
      }
    }
  }

  /** HttpConnectionPoolHandler: a pooled channel lives its TTL plus 1-3 s, then is closed when idle. */
  static final class TtlHandler extends ChannelDuplexHandler {
    private final long ttlMillis;
    private ScheduledFuture<?> timer;

    TtlHandler(long ttlMillis) {
      this.ttlMillis = ttlMillis;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ttlMillis > 0 && timer == null) {
        long ttl = ttlMillis + ThreadLocalRandom.current().nextInt(1_000, 3_000);
        timer = ctx.executor().schedule(() -> expire(ctx.channel()), ttl, TimeUnit.MILLISECONDS);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (timer != null) {
        timer.cancel(false);
      }
      super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslCloseCompletionEvent) {
        expire(ctx.channel());
      }
      super.userEventTriggered(ctx, evt);
    }

    static void expire(Channel ch) {
      ch.attr(EXPIRED).set(Boolean.TRUE);
      if (ch.isActive() && ch.attr(ACQUIRED).get() == Boolean.FALSE) {
        ch.close();
      }
    }
  }
}
