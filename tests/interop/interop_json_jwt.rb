# Interop with Ruby json-jwt (Debian ruby-json-jwt), the library Canvas LMS itself uses.
#
# Usage: ruby interop_json_jwt.rb PATH/TO/jose_tool
#        ruby interop_json_jwt.rb --daemon PATH/TO/instaccessd
# Both directions: tokens made the way Canvas makes them (JWS {"typ":"JWT","alg":"RS256"} inside
# JWE {"alg":"RSA-OAEP","enc":"A128CBC-HS256"}, no kid, no cty; and the RSA1_5 variant of Canvas's
# API doc) opened by us, and ours opened the way Canvas opens them. With --daemon, the same against
# the real daemon over its socket, with the claims exactly as Canvas's code builds them; and a
# gateway's daemon (the enc key pinned, Canvas's sig key bound to its issuer) whose schedule
# rotates every 4 s, still opening Canvas's tokens after its own signing key rotated twice.
require 'json/jwt'
require 'open3'
require 'socket'
require 'tmpdir'
require 'base64'

DAEMON = ARGV[0] == '--daemon' ? ARGV.fetch(1) : nil
TOOL = DAEMON ? nil : ARGV.fetch(0)
$failures = []
$checks = 0

def check(cond, what)
  $checks += 1
  puts((cond ? 'ok   ' : 'FAIL ') + what)
  $failures << what unless cond
end

def run(*args, stdin: nil)
  out, err, st = Open3.capture3(*args, stdin_data: stdin.to_s)
  [out, err, st.exitstatus]
end

def b64json(part)
  JSON.parse(Base64.urlsafe_decode64(part + '=' * (-part.size % 4)))
end

def make_keys(dir)
  %w[sig enc enc15 other].to_h do |name|
    priv = File.join(dir, "#{name}.pem")
    _, err, st = run('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
                     '-out', priv)
    raise err unless st.zero?
    pub = File.join(dir, "#{name}.pub.pem")
    _, err, st = run('openssl', 'pkey', '-in', priv, '-pubout', '-out', pub)
    raise err unless st.zero?
    [name, { priv: priv, pub: pub, key: OpenSSL::PKey::RSA.new(File.read(priv)) }]
  end
end

def kid_of(k)
  JSON::JWK.new(k[:key].public_key).thumbprint
end

# What Canvas does to read a token: decrypt with its key, then verify the inner JWS.
def canvas_open(token, enc_key, sig_pub)
  jwe = JSON::JWT.decode(token, enc_key)
  inner = jwe.respond_to?(:plain_text) ? jwe.plain_text : jwe.to_s
  [JSON::JWT.decode(inner, sig_pub), inner]
end

def ours_to_json_jwt(k)
  [
    ['default shape RS256/RSA-OAEP', 'enc', 'RSA-OAEP', []],
    ['Canvas shape RS256/RSA-OAEP', 'enc', 'RSA-OAEP', ['--canvas']],
    ['Canvas shape RS256/RSA1_5', 'enc15', 'RSA1_5', ['--canvas']],
    ['RS256/RSA-OAEP/A256GCM', 'enc', 'RSA-OAEP', ['--content', 'A256GCM']],
  ].each do |name, ek, ealg, extra|
    claims = { 'sub' => 'u1', 'acct' => 'a1', 'masq_sub' => 'm', 'canvas_shard_id' => 4 }
    out, err, st = run(TOOL, 'issue', '--sig', "#{k['sig'][:priv]}:RS256", '--enc',
                       "#{k[ek][:pub]}:#{ealg}", '--claims', claims.to_json, *extra)
    check(st.zero?, "#{name}: issued #{err.strip}")
    next unless st.zero?
    token = out.strip
    begin
      jwt, inner = canvas_open(token, k[ek][:key], k['sig'][:key].public_key)
      check(jwt['sub'] == 'u1' && jwt['canvas_shard_id'] == 4, "#{name}: json-jwt opens it")
      check(jwt['iss'] == 'instructure:inst_access' && jwt['exp'] - jwt['iat'] == 3600,
            "#{name}: standard claims")
      jwe_h = b64json(token.split('.')[0])
      jws_h = b64json(inner.split('.')[0])
      if extra.include?('--canvas')
        check(jwe_h == { 'alg' => ealg, 'enc' => 'A128CBC-HS256' }, "#{name}: exact JWE header")
        check(jws_h == { 'typ' => 'JWT', 'alg' => 'RS256' }, "#{name}: exact JWS header")
      else
        check(jwe_h['kid'] == kid_of(k[ek]) && jwe_h['cty'] == 'JWT', "#{name}: JWE kid and cty")
        check(jws_h['kid'] == kid_of(k['sig']), "#{name}: JWS kid")
      end
    rescue StandardError => e
      check(false, "#{name}: json-jwt opens it (#{e.class}: #{e.message})")
    end
  end
end

def ours_open(k, token, *extra)
  run(TOOL, 'open', '--sig', "#{k['other'][:pub]}:RS256", '--sig', "#{k['sig'][:pub]}:RS256",
      '--enc', "#{k['enc15'][:priv]}:RSA1_5", '--enc', "#{k['other'][:priv]}:RSA-OAEP",
      '--enc', "#{k['enc'][:priv]}:RSA-OAEP", *extra, stdin: "#{token}\n")
end

def json_jwt_to_ours(k)
  now = Time.now.to_i
  # Canvas's claim set (docs/tokens.md), made the way Canvas's token library makes it.
  claims = { 'iss' => 'instructure:inst_access', 'sub' => '1~42', 'acct' => '1~1',
             'iat' => now, 'exp' => now + 3600, 'jti' => SecureRandom.uuid,
             'canvas_domain' => 'canvas.example.edu', 'masq_sub' => '1~7', 'masq_shard' => 1,
             'debug_user_global_id' => '10000000000042', 'region' => 'us-east-1',
             'client_id' => 'svc', 'instructure_service' => true, 'canvas_shard_id' => 1 }
  [%w[enc RSA-OAEP], %w[enc15 RSA1_5]].each do |ek, ealg|
    token = JSON::JWT.new(claims).sign(k['sig'][:key], :RS256)
                     .encrypt(k[ek][:key].public_key, ealg.to_sym, :'A128CBC-HS256').to_s
    check(b64json(token.split('.')[0]) == { 'alg' => ealg, 'enc' => 'A128CBC-HS256' },
          "json-jwt #{ealg}: Canvas's JWE header")
    out, err, st = ours_open(k, token)
    check(st.zero?, "json-jwt #{ealg}: we open Canvas's token (#{out.strip} #{err.strip})")
    next unless st.zero?
    got = JSON.parse(out)
    check(got['claims'] == claims, "json-jwt #{ealg}: claims intact")
    check(got['sig_kid'] == kid_of(k['sig']) && got['enc_kid'] == kid_of(k[ek]),
          "json-jwt #{ealg}: kids of the keys that worked")
  end

  expired = claims.merge('iat' => now - 7200, 'exp' => now - 3600)
  token = JSON::JWT.new(expired).sign(k['sig'][:key], :RS256)
                   .encrypt(k['enc'][:key].public_key, :'RSA-OAEP', :'A128CBC-HS256').to_s
  out, _, st = ours_open(k, token)
  check(st == 1 && out.strip == 'token_expired', 'json-jwt expired token -> token_expired')

  forged = JSON::JWT.new(claims).sign(k['enc15'][:key], :RS256)
                    .encrypt(k['enc'][:key].public_key, :'RSA-OAEP', :'A128CBC-HS256').to_s
  out, _, st = ours_open(k, forged)
  check(st == 1 && out.strip == 'invalid_token', 'json-jwt token signed by unknown key -> invalid')

  hs = JSON::JWT.new(claims).sign(File.read(k['sig'][:pub]), :HS256)
                .encrypt(k['enc'][:key].public_key, :'RSA-OAEP', :'A128CBC-HS256').to_s
  out, _, st = ours_open(k, hs)
  check(st == 1 && out.strip == 'invalid_token', 'json-jwt HS256 keyed with public PEM -> invalid')

  bare = JSON::JWT.new(claims).sign(k['sig'][:key], :RS256).to_s
  out, _, st = ours_open(k, bare)
  check(st == 1 && out.strip == 'invalid_token', 'bare JWS refused by default')
  out, _, st = ours_open(k, bare, '--accept-unencrypted')
  check(st.zero? && JSON.parse(out)['claims'] == claims, 'bare JWS accepted when allowed')
end

# --- the real daemon ------------------------------------------------------------------------------

# instaccessd in `dir` (the embedded default plus `toml`), ready when this returns: READY=1 read
# from its notify socket, as systemd would. Returns the pid.
def start_daemon(dir, toml)
  File.write(File.join(dir, 'instaccessd.toml'), toml)
  notify_path = File.join(dir, 'notify.sock')
  notify = Socket.new(:UNIX, :DGRAM)
  notify.bind(Socket.sockaddr_un(notify_path))
  pid = spawn({ 'NOTIFY_SOCKET' => notify_path }, DAEMON, chdir: dir,
              in: File::NULL, out: File::NULL, err: File.join(dir, 'instaccessd.stderr'))
  deadline = Time.now + 30
  loop do
    left = deadline - Time.now
    raise "daemon never became ready:\n#{File.read(File.join(dir, 'instaccessd.stderr'))}" \
      if left <= 0 || IO.select([notify], nil, nil, left).nil?
    break if "\n#{notify.recv(4096)}\n".include?("\nREADY=1\n")
  end
  notify.close
  pid
end

def stop_daemon(pid)
  Process.kill('TERM', pid)
  _, st = Process.wait2(pid)
  check(st.exitstatus.zero?, "daemon drains and exits 0 (#{st.inspect})")
end

# [status, parsed JSON body] of one request over the daemon's socket (curl speaks HTTP for us).
def call(sock, path, body = nil)
  args = ['curl', '-sS', '--unix-socket', sock, '-w', "\n%{http_code}"]
  args += ['-H', 'Content-Type: application/json', '--data-binary', '@-'] if body
  out, err, st = run(*args, "http://localhost#{path}", stdin: body&.to_json)
  raise "curl #{path}: #{err}" unless st.zero?
  text, _, code = out.rpartition("\n")
  [code.to_i, (JSON.parse(text) rescue text)]
end

# The claims of canvas-lms's Canvas::OAuth::ServiceUserClientCredentialsProvider#token, the way
# InstAccess::Token.for_user (inst_access gem) puts them: a service user's token whose client_id
# is the developer key's global id (an Integer past 2^32), instructure_service a boolean,
# debug_user_global_id the global id as a string; masq_shard and canvas_shard_id Integers. Plus
# what InstFS tokens that Canvas reads carry (app/helpers/attachment_helper.rb): aud a list,
# resource a path, tenant_auth an object.
def canvas_claims
  { 'sub' => 'Wq6Hh1ZaEV6tRsVbIoJtYXWVajG1m8y2qXQZ2cDb',
    'acct' => 'K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1',
    'canvas_domain' => 'canvas.example.edu',
    'masq_sub' => 'b8ZQf0sC4gJx0dRkG2c7u9VfTzWnYl1aPqHe3MoN', 'masq_shard' => 10_000,
    'debug_user_global_id' => '170000000000042', 'debug_masq_global_id' => '10000000000007',
    'region' => 'us-east-1', 'client_id' => 170_000_000_000_123, 'instructure_service' => true,
    'canvas_shard_id' => 17,
    'aud' => ['K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1'],
    'resource' => '/courses/1/files/2?instfs_id=stuff',
    'tenant_auth' => { 'location' => 'location', 'ids' => [1, 2] } }
end

# Equal, and every value of the same Ruby class (so an Integer never came back as a String or a
# Float, a list never as a string).
def same_json?(got, want)
  return false unless got.instance_of?(want.class)
  case want
  when Hash then got.keys.sort == want.keys.sort && want.all? { |k, v| same_json?(got[k], v) }
  when Array then got.size == want.size && want.each_index.all? { |i| same_json?(got[i], want[i]) }
  else got == want
  end
end

def daemon_round_trips(k, dir)
  pid = start_daemon(dir, <<~TOML)
    [daemon]
    socket = "d.sock"
    [tokens]
    include_kid = false
  TOML
  sock = File.join(dir, 'd.sock')
  # The gateway's encryption key, private part in the daemon: the daemon encrypts to it and
  # Canvas's code (here json-jwt) encrypts to its public part. Canvas's signing key: public only.
  st, key = call(sock, '/api/v1/keys/import',
                 { 'purpose' => 'enc', 'pem' => File.read(k['enc'][:priv]), 'activate' => true })
  check(st == 201 && key['state'] == 'active', "daemon imports the enc key (#{st})")
  # A stock Canvas signs as the daemon's own issuer, which the import must be told.
  sig_import = { 'purpose' => 'sig', 'pem' => File.read(k['sig'][:pub]),
                 'issuers' => ['instructure:inst_access'], 'allow_own_issuer' => true }
  st, key = call(sock, '/api/v1/keys/import', sig_import)
  if st == 400 && key.dig('error', 'message').to_s.start_with?('unknown member')
    # A daemon whose peer keys are not bound to issuers.
    st, key = call(sock, '/api/v1/keys/import', sig_import.slice('purpose', 'pem'))
  end
  check(st == 201 && key['origin'] == 'peer',
        "daemon imports Canvas's public sig key (#{st} #{st == 201 ? '' : key})")
  _, keys = call(sock, '/api/v1/keys')
  sig_kid = keys['keys'].find { |x| x['purpose'] == 'sig' && x['state'] == 'active' }['kid']
  _, jwks = call(sock, '/.well-known/jwks.json')
  sig_pub = JSON::JWK.new(jwks['keys'].find { |x| x['kid'] == sig_kid }).to_key

  # Daemon -> Canvas's library.
  [canvas_claims,
   canvas_claims.merge('client_id' => 18_446_744_073_709_551_615),
   canvas_claims.merge('client_id' => 9_223_372_036_854_775_807, 'aud' => 'one-audience'),
   canvas_claims.merge('client_id' => '170000000000123', 'instructure_service' => false)]
    .each do |claims|
    what = "daemon issues client_id #{claims['client_id'].inspect}"
    st, body = call(sock, '/api/v1/inst_access_tokens', { 'claims' => claims })
    check(st == 201, "#{what}: 201 (#{st} #{st == 201 ? '' : body})")
    next unless st == 201

    token = body['token']
    begin
      jwt, inner = canvas_open(token, k['enc'][:key], sig_pub)
      got = jwt.to_hash.transform_keys(&:to_s)
      check(same_json?(got.except('iss', 'iat', 'exp', 'jti'), claims),
            "#{what}: json-jwt opens it, every claim and JSON type intact")
      check(got['iss'] == 'instructure:inst_access' && got['exp'] - got['iat'] == 3600 &&
            got['jti'].is_a?(String), "#{what}: standard claims")
      check(b64json(token.split('.')[0]) == { 'alg' => 'RSA-OAEP', 'enc' => 'A128CBC-HS256' } &&
            b64json(inner.split('.')[0]) == { 'typ' => 'JWT', 'alg' => 'RS256' },
            "#{what}: Canvas's header shape")
    rescue StandardError => e
      check(false, "#{what}: json-jwt opens it (#{e.class}: #{e.message})")
    end
    st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => token })
    check(st == 200 && same_json?(body['claims'].except('iss', 'iat', 'exp', 'jti'), claims),
          "#{what}: the daemon decrypts its own token, types intact")
  end

  # Canvas's library -> daemon: InstAccess::Token#to_token_string is
  # JSON::JWT.new(payload).sign(signing_key) (RS256 for an RSA key), then
  # .encrypt(encryption_key, :'RSA-OAEP', :'A128CBC-HS256'); no kid in either header.
  now = Time.now.to_i
  [canvas_claims, canvas_claims.merge('client_id' => 18_446_744_073_709_551_615)].each do |c|
    what = "json-jwt Canvas token, client_id #{c['client_id']}"
    claims = { 'iss' => 'instructure:inst_access', 'jti' => SecureRandom.uuid, 'iat' => now,
               'exp' => now + 3600 }.merge(c)
    token = JSON::JWT.new(claims).sign(k['sig'][:key])
                     .encrypt(k['enc'][:key].public_key, :'RSA-OAEP', :'A128CBC-HS256').to_s
    check(b64json(token.split('.')[0]) == { 'alg' => 'RSA-OAEP', 'enc' => 'A128CBC-HS256' },
          "#{what}: no kid")
    st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => token })
    check(st == 200, "#{what}: the daemon decrypts it (#{st} #{st == 200 ? '' : body})")
    next unless st == 200

    check(same_json?(body['claims'], claims), "#{what}: every claim and JSON type intact")
    check(body['sig_kid'] == kid_of(k['sig']) && body['enc_kid'] == kid_of(k['enc']),
          "#{what}: kids of Canvas's sig key and the gateway's enc key")
  end

  # Typed claims the daemon refuses, as a 400 naming the claim.
  [['client_id', 1.5, 'claims.client_id must be an integer or a string'],
   ['masq_shard', '5', 'claims.masq_shard must be an integer'],
   ['instructure_service', 'true', 'claims.instructure_service must be a boolean'],
   ['iss', 'x', 'claims.iss is set by instaccessd and may not be given']].each do |name, v, msg|
    st, body = call(sock, '/api/v1/inst_access_tokens',
                    { 'claims' => canvas_claims.merge(name => v) })
    check(st == 400 && body.dig('error', 'message') == msg, "#{name} = #{v.inspect} -> 400 #{msg}")
  end
ensure
  stop_daemon(pid) if pid
end

# Polls `yield` (every 0.1 s) until it returns a true value, which it returns; nil past the
# deadline. Never a fixed sleep: the daemon's schedule decides when the condition holds.
def wait_until(seconds)
  deadline = Time.now + seconds
  loop do
    got = yield
    return got if got
    return nil if Time.now > deadline

    IO.select(nil, nil, nil, 0.1)
  end
end

# A token made exactly the way Canvas makes it (InstAccess::Token#to_token_string): Canvas's
# claims, iat/exp/jti as the gem sets them, signed RS256 with Canvas's key, encrypted to the
# gateway's public key with RSA-OAEP + A128CBC-HS256; no kid in either header.
def canvas_token(k, lifetime, iss: 'instructure:inst_access')
  now = Time.now.to_i
  claims = { 'iss' => iss, 'jti' => SecureRandom.uuid, 'iat' => now,
             'exp' => now + lifetime }.merge(canvas_claims)
  token = JSON::JWT.new(claims).sign(k['sig'][:key], :RS256)
                   .encrypt(k['enc'][:key].public_key, :'RSA-OAEP', :'A128CBC-HS256').to_s
  [token, claims]
end

# The gateway in front of a stock Canvas (docs/operations.md, "Bringing in Canvas's existing
# keys"), under a schedule that rotates every few seconds: the gateway's encryption key, pinned,
# stays the active one while the daemon's own signing key rotates twice, so a token Canvas made
# before the rotations, and one it makes after, both still open. No decrypt cache: every answer
# after the rotations comes from the keys as they are then.
def daemon_pinned_through_rotations(k, dir)
  pid = start_daemon(dir, <<~TOML)
    [daemon]
    socket = "d.sock"
    [tokens]
    max_lifetime = "90s"
    [rotation.sig]
    period = "4s"
    prepublish = "1s"
    [rotation.enc]
    period = "4s"
    prepublish = "1s"
    [cache]
    entries = 0
  TOML
  sock = File.join(dir, 'd.sock')
  st, enc = call(sock, '/api/v1/keys/import',
                 { 'purpose' => 'enc', 'alg' => 'RSA-OAEP', 'pem' => File.read(k['enc'][:priv]),
                   'activate' => true, 'pin' => true })
  check(st == 201 && enc['state'] == 'active' && enc['pin'] == true,
        "rotating daemon imports the gateway's enc key, active and pinned (#{st})")
  st, sig = call(sock, '/api/v1/keys/import',
                 { 'purpose' => 'sig', 'alg' => 'RS256', 'pem' => File.read(k['sig'][:pub]),
                   'issuers' => ['instructure:inst_access'], 'allow_own_issuer' => true })
  check(st == 201 && sig['origin'] == 'peer' && sig['issuers'] == ['instructure:inst_access'],
        "rotating daemon imports Canvas's public sig key with its issuer (#{st})")
  return unless enc.is_a?(Hash) && sig.is_a?(Hash)

  before, claims = canvas_token(k, 90)
  made_at = Time.now
  st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => before })
  check(st == 200, "Canvas's token opens before the rotations (#{st} #{st == 200 ? '' : body})")
  st, ours = call(sock, '/api/v1/inst_access_tokens', { 'claims' => canvas_claims, 'ttl' => 90 })
  check(st == 201, "the daemon issues before the rotations (#{st})")
  ours = ours.is_a?(Hash) ? ours['token'] : nil
  # The signing key our token names is the one active when it was made, however slow this host.
  first_sig = ours && call(sock, '/api/v1/inst_access_tokens/decrypt',
                           { 'token' => ours })[1]['sig_kid']

  # Our signing keys that have been active: the one at start-up, then every one promoted since.
  been_active = lambda do |keys|
    keys.select do |x|
      x['purpose'] == 'sig' && x['origin'] == 'generated' && x['state'] != 'pending'
    end
  end
  keys = wait_until(60) do
    _, list = call(sock, '/api/v1/keys')
    list['keys'] if been_active.call(list['keys']).size >= 3
  end
  check(!keys.nil?, 'the schedule rotates our signing key twice within 60 s')
  return if keys.nil?

  sigs = been_active.call(keys)
  active_sig = sigs.find { |x| x['state'] == 'active' }
  check(active_sig && active_sig['kid'] != first_sig &&
        sigs.count { |x| x['state'] == 'retired' } >= 2,
        "#{sigs.size - 1} signing rotations: " +
        sigs.map { |x| "#{x['kid'][0, 8]} #{x['state']}" }.join(', '))
  active_enc = keys.select { |x| x['purpose'] == 'enc' && x['state'] == 'active' }
  check(active_enc.map { |x| x['kid'] } == [enc['kid']] && active_enc[0]['pin'] == true,
        'the pinned gateway enc key is still the active one')
  # A pending key made before the pin (a slow host imports after the first generation is due)
  # may stay; none is made after it.
  pinned_at = keys.find { |x| x['kid'] == enc['kid'] }['created_at']
  check(keys.none? { |x| x['purpose'] == 'enc' && x['state'] == 'pending' && x['created_at'] > pinned_at },
        'no enc key is generated to replace the pinned one')
  check(Time.now - made_at > 4, "Canvas's token is older than a rotation period " \
                               "(#{(Time.now - made_at).round(1)} s)")

  st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => before })
  check(st == 200 && same_json?(body['claims'], claims) && body['enc_kid'] == enc['kid'] &&
        body['sig_kid'] == sig['kid'],
        "Canvas's token made before the rotations still opens (#{st} #{st == 200 ? '' : body})")
  fresh, claims = canvas_token(k, 90)
  st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => fresh })
  check(st == 200 && same_json?(body['claims'], claims) && body['enc_kid'] == enc['kid'],
        "a fresh Canvas token opens after the rotations (#{st} #{st == 200 ? '' : body})")
  if ours
    st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => ours })
    check(st == 200 && body['sig_kid'] == first_sig &&
          sigs.find { |x| x['kid'] == first_sig }&.fetch('state') == 'retired',
          "the daemon's token from before still opens, signed by a retired key (#{st})")
  end
  foreign, = canvas_token(k, 90, iss: 'canvas.other.example')
  st, body = call(sock, '/api/v1/inst_access_tokens/decrypt', { 'token' => foreign })
  check(st == 401 && body.dig('error', 'code') == 'invalid_token',
        "Canvas's key with an iss outside its issuers -> 401 invalid_token (#{st} #{body})")
ensure
  stop_daemon(pid) if pid
end

Dir.mktmpdir do |dir|
  keys = make_keys(dir)
  if DAEMON
    daemon_round_trips(keys, dir)
    rotating = File.join(dir, 'rotating')
    Dir.mkdir(rotating)
    daemon_pinned_through_rotations(keys, rotating)
  else
    ours_to_json_jwt(keys)
    json_jwt_to_ours(keys)
  end
end
puts "#{$checks} checks, #{$failures.size} failed"
exit($failures.empty? && $checks.positive? ? 0 : 1)
