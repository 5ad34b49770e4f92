#!/usr/bin/env python3
"""Check the JOSE known-answer vectors in this folder.

Every value in the JSON files is recomputed or cross-checked here with
python3-cryptography (primary). python3-jwcrypto, if importable, is used
as a second, independent implementation. Exit status 0 only if every
check passes.

    python3 tests/vectors/verify.py   # from the top of the repository; any directory works
                                      # Debian: python3-cryptography, python3-jwcrypto
"""
import base64
import hashlib
import hmac
import json
import os
import re
import sys

import cryptography
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

try:
    import jwcrypto
    from jwcrypto import jwe as jc_jwe
    from jwcrypto import jwk as jc_jwk
    from jwcrypto import jws as jc_jws
except ImportError:  # optional second implementation
    jwcrypto = None

HERE = os.path.dirname(os.path.abspath(__file__))
B64U_ALPHABET = re.compile(r"^[A-Za-z0-9_-]*$")
FAILURES = []


def check(name, ok, detail=""):
    print(("PASS  " if ok else "FAIL  ") + name + ("" if ok or not detail else "  -- " + detail))
    if not ok:
        FAILURES.append(name)


def b64u_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    """Strict base64url: URL-safe alphabet, no padding, canonical trailing bits."""
    if not B64U_ALPHABET.match(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url: %r" % text[:40])
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u_encode(data) != text:
        raise ValueError("non-canonical base64url: %r" % text[:40])
    return data


def b64u_int(text):
    return int.from_bytes(b64u_decode(text), "big")


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def rsa_private_key(tag, jwk):
    """Build the private key from n,e,d,p,q,dp,dq,qi after checking they agree."""
    n, e, d = b64u_int(jwk["n"]), b64u_int(jwk["e"]), b64u_int(jwk["d"])
    p, q = b64u_int(jwk["p"]), b64u_int(jwk["q"])
    dp, dq, qi = b64u_int(jwk["dp"]), b64u_int(jwk["dq"]), b64u_int(jwk["qi"])
    check(tag + ": jwk kty is RSA", jwk.get("kty") == "RSA")
    check(tag + ": jwk n == p*q", n == p * q)
    check(tag + ": jwk e*d == 1 mod (p-1) and mod (q-1)",
          (e * d) % (p - 1) == 1 and (e * d) % (q - 1) == 1)
    check(tag + ": jwk dp == d mod (p-1)", dp == d % (p - 1))
    check(tag + ": jwk dq == d mod (q-1)", dq == d % (q - 1))
    check(tag + ": jwk qi == q^-1 mod p", (qi * q) % p == 1)
    check(tag + ": jwk modulus is 2048 bits", n.bit_length() == 2048)
    return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, rsa.RSAPublicNumbers(e, n)).private_key()


def jwcrypto_public(jwk):
    return jc_jwk.JWK(kty=jwk["kty"], n=jwk["n"], e=jwk["e"])


def common_header_checks(tag, v):
    check(tag + ": source field present", bool(v.get("source")))
    check(tag + ": protected_header_b64u == BASE64URL(protected_header_json)",
          b64u_encode(v["protected_header_json"].encode("utf-8")) == v["protected_header_b64u"])


def check_hex_matches_b64u(tag, v, fields):
    for f in fields:
        check("%s: %s_hex == %s_b64u" % (tag, f, f),
              bytes.fromhex(v[f + "_hex"]) == b64u_decode(v[f + "_b64u"]))


# --------------------------------------------------------------------------- RFC 7515 A.2
def verify_jws_rs256():
    tag = "RFC 7515 A.2 RS256"
    v = load("rfc7515-a2-rs256.json")
    common_header_checks(tag, v)
    check(tag + ": header alg is RS256", json.loads(v["protected_header_json"]) == {"alg": "RS256"})
    check(tag + ": payload_b64u == BASE64URL(payload_utf8)",
          b64u_encode(v["payload_utf8"].encode("utf-8")) == v["payload_b64u"])
    check(tag + ": signing_input == header.payload",
          v["signing_input"] == v["protected_header_b64u"] + "." + v["payload_b64u"])
    check(tag + ": compact == signing_input.signature",
          v["compact"] == v["signing_input"] + "." + v["signature_b64u"])

    key = rsa_private_key(tag, v["jwk"])
    signing_input = v["signing_input"].encode("ascii")
    expected = b64u_decode(v["signature_b64u"])
    produced = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    check(tag + ": signing reproduces the signature byte for byte", produced == expected,
          "got " + b64u_encode(produced)[:32] + "...")
    try:
        key.public_key().verify(expected, signing_input, padding.PKCS1v15(), hashes.SHA256())
        ok = True
    except InvalidSignature:
        ok = False
    check(tag + ": signature verifies with the public key", ok)
    bad = bytearray(expected)
    bad[-1] ^= 1
    try:
        key.public_key().verify(bytes(bad), signing_input, padding.PKCS1v15(), hashes.SHA256())
        ok = False
    except InvalidSignature:
        ok = True
    check(tag + ": a one-bit-flipped signature is rejected", ok)

    if jwcrypto:
        token = jc_jws.JWS()
        token.deserialize(v["compact"], jwcrypto_public(v["jwk"]))
        check(tag + ": jwcrypto verifies the compact JWS with the public key",
              token.payload == v["payload_utf8"].encode("utf-8"))


# --------------------------------------------------------------------------- RFC 7516 A.1 / A.2
def split_compact(tag, v):
    parts = v["compact"].split(".")
    check(tag + ": compact has 5 parts", len(parts) == 5)
    names = ["protected_header_b64u", "encrypted_key_b64u", "iv_b64u", "ciphertext_b64u", "tag_b64u"]
    check(tag + ": compact == header.encrypted_key.iv.ciphertext.tag",
          parts == [v[n] for n in names])
    check(tag + ": aad_ascii == protected_header_b64u (ASCII(BASE64URL(header)))",
          v["aad_ascii"] == v["protected_header_b64u"])
    hdr = json.loads(b64u_decode(parts[0]))
    return hdr, [b64u_decode(p) for p in parts[1:]]


def cbc_hmac_sha256_encrypt(key, iv, aad, plaintext):
    mac_key, enc_key = key[:16], key[16:]
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = enc.update(padded) + enc.finalize()
    al = (len(aad) * 8).to_bytes(8, "big")
    m = hmac.new(mac_key, aad + iv + ciphertext + al, hashlib.sha256).digest()
    return ciphertext, m[:16], m, al


def cbc_hmac_sha256_decrypt(key, iv, aad, ciphertext, tag):
    mac_key, enc_key = key[:16], key[16:]
    al = (len(aad) * 8).to_bytes(8, "big")
    m = hmac.new(mac_key, aad + iv + ciphertext + al, hashlib.sha256).digest()
    if not hmac.compare_digest(m[:16], tag):
        raise InvalidTag()
    dec = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def verify_jwe(filename, tag, alg, enc):
    v = load(filename)
    common_header_checks(tag, v)
    check_hex_matches_b64u(tag, v, ["cek", "iv", "ciphertext", "tag"])
    hdr, (ek, iv, ct, at) = split_compact(tag, v)
    check(tag + ": header is {alg:%s, enc:%s}" % (alg, enc),
          hdr == {"alg": alg, "enc": enc} and v["alg"] == alg and v["enc"] == enc)
    key = rsa_private_key(tag, v["jwk"])
    cek = b64u_decode(v["cek_b64u"])
    aad = v["protected_header_b64u"].encode("ascii")
    plaintext = v["plaintext"].encode("utf-8")

    # key management step: decrypt the given encrypted key (randomized on encryption)
    if alg == "RSA-OAEP":
        kw_pad = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    else:
        kw_pad = padding.PKCS1v15()
    check(tag + ": encrypted key is one modulus long (256 bytes)", len(ek) == 256)
    check(tag + ": encrypted key decrypts to the stated CEK", key.decrypt(ek, kw_pad) == cek)
    fresh = key.public_key().encrypt(cek, kw_pad)
    check(tag + ": re-encrypting the CEK gives a different encrypted key (randomized) that still "
          "decrypts to the CEK", fresh != ek and key.decrypt(fresh, kw_pad) == cek)

    # content encryption step: deterministic given CEK and IV
    if enc == "A256GCM":
        check(tag + ": CEK is 32 bytes, IV 12 bytes, tag 16 bytes",
              len(cek) == 32 and len(iv) == 12 and len(at) == 16)
        produced = AESGCM(cek).encrypt(iv, plaintext, aad)
        check(tag + ": AES-256-GCM(CEK, IV, AAD) reproduces ciphertext", produced[:-16] == ct)
        check(tag + ": AES-256-GCM(CEK, IV, AAD) reproduces tag", produced[-16:] == at)
        decrypted = AESGCM(key.decrypt(ek, kw_pad)).decrypt(iv, ct + at, aad)
        try:
            AESGCM(cek).decrypt(iv, ct + bytes([at[0] ^ 1]) + at[1:], aad)
            rejected = False
        except InvalidTag:
            rejected = True
    else:
        check(tag + ": CEK is 32 bytes, IV 16 bytes, tag 16 bytes",
              len(cek) == 32 and len(iv) == 16 and len(at) == 16)
        produced_ct, produced_tag, _, al = cbc_hmac_sha256_encrypt(cek, iv, aad, plaintext)
        check(tag + ": AL is len(AAD)*8 = %d bits" % (len(aad) * 8), al == (len(aad) * 8).to_bytes(8, "big"))
        check(tag + ": A128CBC-HS256(CEK, IV, AAD) reproduces ciphertext", produced_ct == ct)
        check(tag + ": A128CBC-HS256(CEK, IV, AAD) reproduces tag", produced_tag == at)
        decrypted = cbc_hmac_sha256_decrypt(key.decrypt(ek, kw_pad), iv, aad, ct, at)
        try:
            cbc_hmac_sha256_decrypt(cek, iv, aad, ct, bytes([at[0] ^ 1]) + at[1:])
            rejected = False
        except InvalidTag:
            rejected = True
    check(tag + ": decrypting the compact JWE with the JWK yields the stated plaintext",
          decrypted == plaintext)
    check(tag + ": a one-bit-flipped tag is rejected", rejected)

    if jwcrypto:
        token = jc_jwe.JWE(algs=[alg, enc])
        token.deserialize(v["compact"], jc_jwk.JWK(**v["jwk"]))
        check(tag + ": jwcrypto decrypts the compact JWE to the stated plaintext",
              token.payload == plaintext)


# --------------------------------------------------------------------------- RFC 7518 B.1
def verify_cbc_hmac_b1():
    tag = "RFC 7518 B.1 A128CBC-HS256"
    v = load("rfc7518-b1-a128cbc-hs256.json")
    check(tag + ": source field present", bool(v.get("source")))
    h = {k[:-4]: bytes.fromhex(v[k]) for k in v if k.endswith("_hex")}
    for name in ["K", "P", "IV", "A", "E", "T"]:
        check("%s: %s_b64u == %s_hex" % (tag, name, name), b64u_decode(v[name + "_b64u"]) == h[name])
    check(tag + ": P_hex == P_text", h["P"] == v["P_text"].encode("ascii"))
    check(tag + ": A_hex == A_text", h["A"] == v["A_text"].encode("ascii"))
    check(tag + ": MAC_KEY == first 16 bytes of K", h["MAC_KEY"] == h["K"][:16])
    check(tag + ": ENC_KEY == last 16 bytes of K", h["ENC_KEY"] == h["K"][16:])
    e, t, m, al = cbc_hmac_sha256_encrypt(h["K"], h["IV"], h["A"], h["P"])
    check(tag + ": AL == 64-bit big-endian bit length of A", al == h["AL"])
    check(tag + ": AES-128-CBC(ENC_KEY, IV, pad(P)) reproduces E", e == h["E"])
    check(tag + ": HMAC-SHA-256(MAC_KEY, A||IV||E||AL) reproduces M", m == h["M"])
    check(tag + ": T == first 16 bytes of M", t == h["T"] and h["T"] == h["M"][:16])
    check(tag + ": decrypting E with T verifies and yields P",
          cbc_hmac_sha256_decrypt(h["K"], h["IV"], h["A"], h["E"], h["T"]) == h["P"])


# --------------------------------------------------------------------------- RFC 7638 3.1
def verify_thumbprint():
    tag = "RFC 7638 3.1 thumbprint"
    v = load("rfc7638-3-1-thumbprint.json")
    check(tag + ": source field present", bool(v.get("source")))
    jwk = v["jwk"]
    required = {m: jwk[m] for m in ("e", "kty", "n")}  # RSA required members
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    check(tag + ": canonical_json == required members, sorted, no whitespace",
          canonical == v["canonical_json"])
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    check(tag + ": BASE64URL(SHA-256(canonical_json)) == thumbprint_b64u",
          b64u_encode(digest) == v["thumbprint_b64u"], "got " + b64u_encode(digest))
    check(tag + ": thumbprint_hex == thumbprint_b64u",
          bytes.fromhex(v["thumbprint_hex"]) == b64u_decode(v["thumbprint_b64u"]))
    if jwcrypto:
        check(tag + ": jwcrypto JWK.thumbprint() agrees",
              jc_jwk.JWK(**jwk).thumbprint() == v["thumbprint_b64u"])


def main():
    if jwcrypto:
        try:
            from importlib.metadata import version
            jc_version = version("jwcrypto")
        except Exception:
            jc_version = "installed"
    else:
        jc_version = "not installed (its checks are skipped)"
    print("python %s, cryptography %s, jwcrypto %s" % (
        sys.version.split()[0], cryptography.__version__, jc_version))
    for fn in sorted(os.listdir(HERE)):
        if fn.endswith(".json"):
            try:
                load(fn)  # strict JSON parse
            except ValueError as exc:
                check(fn + ": parses as JSON", False, str(exc))
    steps = [
        ("RFC 7515 A.2", verify_jws_rs256, ()),
        ("RFC 7516 A.1", verify_jwe, ("rfc7516-a1-rsa-oaep-a256gcm.json",
                                      "RFC 7516 A.1 RSA-OAEP/A256GCM", "RSA-OAEP", "A256GCM")),
        ("RFC 7516 A.2", verify_jwe, ("rfc7516-a2-rsa1_5-a128cbc-hs256.json",
                                      "RFC 7516 A.2 RSA1_5/A128CBC-HS256", "RSA1_5", "A128CBC-HS256")),
        ("RFC 7518 B.1", verify_cbc_hmac_b1, ()),
        ("RFC 7638 3.1", verify_thumbprint, ()),
    ]
    for name, fn, args in steps:
        try:
            fn(*args)
        except Exception as exc:  # a malformed value must be reported, not crash the run
            check(name + ": checks ran to completion", False, "%s: %s" % (type(exc).__name__, exc))
    print()
    if FAILURES:
        print("%d check(s) FAILED" % len(FAILURES))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
