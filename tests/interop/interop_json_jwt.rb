# Interop with Ruby json-jwt (Debian ruby-json-jwt), the library Canvas LMS itself uses.
#
# Usage: ruby interop_json_jwt.rb PATH/TO/jose_tool
# Both directions: tokens made the way Canvas makes them (JWS {"typ":"JWT","alg":"RS256"} inside
# JWE {"alg":"RSA-OAEP","enc":"A128CBC-HS256"}, no kid, no cty; and the RSA1_5 variant of Canvas's
# API doc) opened by us, and ours opened the way Canvas opens them.
require 'json/jwt'
require 'open3'
require 'tmpdir'
require 'base64'

TOOL = ARGV.fetch(0)
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

Dir.mktmpdir do |dir|
  keys = make_keys(dir)
  ours_to_json_jwt(keys)
  json_jwt_to_ours(keys)
end
puts "#{$checks} checks, #{$failures.size} failed"
exit($failures.empty? && $checks.positive? ? 0 : 1)
