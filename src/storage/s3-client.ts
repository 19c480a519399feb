import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** An S3-compatible server (MinIO, s3rver): `AWS_ENDPOINT_URL_S3`. */
  endpoint?: string;
  /** `AWS_REGION`; us-east-1 when none is configured. */
  region?: string;
  /** Static keys; left out, the SDK's default credential chain applies (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const DEFAULT_REGION = 'us-east-1';

/**
 * The one place an S3Client is built, so every caller (storage, sources,
 * tests) talks to S3 the same way.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const endpoint = options.endpoint;
  return new S3Client({
    region: options.region ?? DEFAULT_REGION,
    // With the region defaulted, a bucket that lives elsewhere answers with a
    // redirect; following it keeps the default usable for real AWS buckets.
    followRegionRedirects: options.region === undefined,
    // The SDK would otherwise pick AWS_ENDPOINT_URL_S3 (or a profile's
    // endpoint_url) up by itself, without path-style addressing, and bypass
    // the validated configuration. The endpoint is exactly what we are given.
    ignoreConfiguredEndpointUrls: true,
    ...(endpoint === undefined
      ? {}
      : {
          endpoint,
          // S3-compatible servers rarely resolve bucket.host names (virtual-host style).
          forcePathStyle: true,
        }),
    // The SDK's newer default (WHEN_SUPPORTED) sends streamed bodies with
    // aws-chunked framing and trailing checksums; MinIO, s3rver and most
    // S3-compatible servers store those framing bytes inside the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The middleware stack is resolved once per command class, not on every
    // send: a build reads thousands of objects, and each stack built anew was
    // most of what its reads left for the garbage collector (no middleware is
    // ever added after the client is made, which the cache would miss).
    cacheMiddleware: true,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
}
