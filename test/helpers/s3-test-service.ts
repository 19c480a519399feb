import { watchCollectJobs, type CollectJobs } from './collect-jobs.js';
import { startS3Server, type TestS3Server } from './s3-server.js';
import { startTestService, type TestService, type TestServiceOptions } from './test-service.js';

export interface S3TestService {
  s3: TestS3Server;
  t: TestService;
  jobs: CollectJobs;
  /** Stops the watcher, the service and the S3 server, and puts the AWS variables back. */
  close(): Promise<void>;
}

/**
 * The test service with an S3 server (s3rver) holding `buckets`, reached
 * as production reaches S3: the endpoint through AWS_ENDPOINT_URL_S3 and the
 * credentials through the SDK's default chain, so they are set in
 * process.env for the test's duration.
 */
export async function startS3TestService(buckets: readonly string[], options: TestServiceOptions = {}): Promise<S3TestService> {
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
  const s3 = await startS3Server();
  await Promise.all(buckets.map((bucket) => s3.createBucket(bucket)));
  process.env['AWS_ACCESS_KEY_ID'] = s3.credentials.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = s3.credentials.secretAccessKey;
  const t = await startTestService({ ...options, env: { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1', ...options.env } });
  const jobs = await watchCollectJobs(t, t.redis.url, t.prefix);
  return {
    s3,
    t,
    jobs,
    async close() {
      await jobs.close();
      await t.close();
      await s3.close();
      process.env['AWS_ACCESS_KEY_ID'] = saved.id;
      process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
    },
  };
}
