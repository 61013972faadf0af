export { AuditLogAppendOnlyError, createDb, type Db } from './client.ts';
export {
  configuredDatabaseUrl,
  databaseProvider,
  DatabaseUrlError,
  DEFAULT_DATABASE_URL,
  redactUrl,
  resolveDatabaseUrl,
  type DatabaseProvider,
} from './database-url.ts';
export { IN_BATCH_SIZE, inBatches } from './batches.ts';
export { jsonValue } from './json-value.ts';
export { claimJobTarget, claimJobTargets, type BatchClaimRequest, type ClaimRequest } from './job-claims.ts';
export { createWakeups, type Wakeups } from './wakeups.ts';
export { pendingMigrations } from './pending-migrations.ts';
export {
  migrateDeploy,
  PrismaCliError,
  runPrismaCli,
  type PrismaCliOptions,
  type PrismaCliResult,
} from './prisma-cli.ts';
export {
  createSecretBox,
  loadOrCreateSecretKeyFile,
  parseSecretKey,
  SecretBoxError,
  type SecretBox,
} from './secret-box.ts';
export * from './generated/sqlite/enums.ts';
export {
  Prisma,
  type AgentCall,
  type AgentChannel,
  type AuditEvent,
  type Build,
  type BuildStep,
  type Host,
  type HostSnapshot,
  type ImageTag,
  type Job,
  type JobTarget,
  type JoinToken,
  type Policy,
  type Registry,
  type Repository,
  type Session,
  type User,
  type VerifyResult,
} from './generated/sqlite/client.ts';
