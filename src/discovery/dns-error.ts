import { LbError } from '../errors.js';

/**
 * Why a DNS resolution failed, as data: `timeout` (no answer in time), `servfail`, `refused`, `nxdomain`
 * (no such name), `nodata` (the name has no record of that type), `malformed` (an answer that does not parse),
 * `truncated` (the answer did not fit in UDP), `error` (anything else, such as a socket error).
 */
export type DnsFailure = 'timeout' | 'servfail' | 'refused' | 'nxdomain' | 'nodata' | 'malformed' | 'truncated' | 'error';

/**
 * @internal The code DNS failures carry;
 * `err.details.reason` holds the {@link DnsFailure}.
 */
export const DNS_ERROR_CODE = 'ERR_LB_RESOLVE' as const;

/** @internal Builds the LbError for a failed resolution of `name`/`type`. */
export function dnsError(reason: DnsFailure, name: string, type: string, message: string, cause?: unknown): LbError {
  return new LbError(DNS_ERROR_CODE, `DNS ${type} ${name}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { reason, name, type },
  });
}

/** @internal Maps a node:dns error code (`ENOTFOUND`, `ESERVFAIL`…) to a {@link DnsFailure}. */
export function failureOfCode(code: unknown): DnsFailure {
  switch (code) {
    case 'ENOTFOUND':
      return 'nxdomain';
    case 'ENODATA':
      return 'nodata';
    case 'ESERVFAIL':
      return 'servfail';
    case 'EREFUSED':
      return 'refused';
    case 'ETIMEOUT':
    case 'ECANCELLED':
      return 'timeout';
    case 'EBADRESP':
    case 'EFORMERR':
    case 'EBADNAME':
      return 'malformed';
    default:
      return 'error';
  }
}
