import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../functions/config.js';

const base = { TABLE_NAME: 't', SECRETS_TABLE_NAME: 's', AUTH_MODE: 'jwt' };

describe('configuration from the environment', () => {
  it('reads a complete environment with its defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.TABLE_NAME, 't');
    assert.equal(c.AUTH_MODE, 'jwt');
    assert.equal(c.S3_FORCE_PATH_STYLE, 'false');
  });
  it('fails at start, naming every missing variable, rather than mid-request', () => {
    assert.throws(() => loadConfig({}), /TABLE_NAME: is required.*SECRETS_TABLE_NAME: is required.*AUTH_MODE: is required/);
  });
  it('fails closed: no AUTH_MODE means no start, not "no auth"', () => {
    assert.throws(() => loadConfig({ TABLE_NAME: 't', SECRETS_TABLE_NAME: 's' }), /AUTH_MODE: is required/);
    assert.throws(() => loadConfig({ ...base, AUTH_MODE: 'none' }), /AUTH_MODE: must be one of jwt\|token/);
  });
  it('needs an admin token of at least 32 characters in token mode', () => {
    assert.throws(() => loadConfig({ ...base, AUTH_MODE: 'token' }), /needs ADMIN_TOKEN/);
    assert.throws(() => loadConfig({ ...base, AUTH_MODE: 'token', ADMIN_TOKEN: 'short' }), /ADMIN_TOKEN: must be at least 32/);
    assert.equal(loadConfig({ ...base, AUTH_MODE: 'token', ADMIN_TOKEN: 'x'.repeat(43) }).AUTH_MODE, 'token');
  });
  it('names the admin and viewer groups, wg-ingress-admins and wg-ingress-viewers unless told otherwise', () => {
    const c = loadConfig(base);
    assert.equal(c.ADMIN_GROUP, 'wg-ingress-admins');
    assert.equal(c.VIEWER_GROUP, 'wg-ingress-viewers');
    const own = loadConfig({ ...base, ADMIN_GROUP: 'Ops_Team+1', VIEWER_GROUP: 'helpdesk@example.com' });
    assert.equal(own.ADMIN_GROUP, 'Ops_Team+1');
    assert.equal(own.VIEWER_GROUP, 'helpdesk@example.com');
  });
  it('refuses group names Cognito would refuse: empty, with spaces, longer than 128', () => {
    assert.throws(() => loadConfig({ ...base, ADMIN_GROUP: '' }), /ADMIN_GROUP: must not be empty/);
    assert.throws(() => loadConfig({ ...base, VIEWER_GROUP: '' }), /VIEWER_GROUP: must not be empty/);
    assert.throws(() => loadConfig({ ...base, ADMIN_GROUP: 'wg ingress admins' }), /ADMIN_GROUP: must be a Cognito group name/);
    assert.throws(() => loadConfig({ ...base, VIEWER_GROUP: 'tab\there' }), /VIEWER_GROUP: must be a Cognito group name/);
    assert.throws(() => loadConfig({ ...base, ADMIN_GROUP: 'a'.repeat(129) }), /ADMIN_GROUP: must be a Cognito group name/);
    assert.equal(loadConfig({ ...base, ADMIN_GROUP: 'a'.repeat(128) }).ADMIN_GROUP.length, 128);
  });
  it('refuses one group for both admins and viewers', () => {
    assert.throws(() => loadConfig({ ...base, ADMIN_GROUP: 'ops', VIEWER_GROUP: 'ops' }), /VIEWER_GROUP: must differ from ADMIN_GROUP/);
  });
  it('refuses endpoints that are not absolute URLs', () => {
    assert.throws(() => loadConfig({ ...base, DYNAMODB_ENDPOINT: '127.0.0.1 port 8000' }), /DYNAMODB_ENDPOINT: must be an absolute URL/);
  });
  it('takes a key pair per local endpoint: both halves, and only with that endpoint', () => {
    const dynamo = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', DYNAMODB_ACCESS_KEY_ID: 'LOCALABC', DYNAMODB_SECRET_ACCESS_KEY: 'secret' };
    const s3 = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' };
    const c = loadConfig({ ...base, ...dynamo, ...s3 });
    assert.equal(c.DYNAMODB_ACCESS_KEY_ID, 'LOCALABC');
    assert.equal(c.S3_ACCESS_KEY_ID, 'S3RVER');
    assert.equal(loadConfig(base).DYNAMODB_ACCESS_KEY_ID, undefined, 'none in AWS');
    assert.throws(() => loadConfig({ ...base, DYNAMODB_ENDPOINT: dynamo.DYNAMODB_ENDPOINT, DYNAMODB_ACCESS_KEY_ID: 'x' }), /DYNAMODB_ACCESS_KEY_ID, DYNAMODB_SECRET_ACCESS_KEY: set both or neither/);
    assert.throws(() => loadConfig({ ...base, DYNAMODB_ACCESS_KEY_ID: 'x', DYNAMODB_SECRET_ACCESS_KEY: 'y' }), /DYNAMODB_ACCESS_KEY_ID: only for a local endpoint \(needs DYNAMODB_ENDPOINT\)/);
    assert.throws(() => loadConfig({ ...base, S3_ACCESS_KEY_ID: 'x', S3_SECRET_ACCESS_KEY: 'y' }), /needs S3_ENDPOINT/);
    assert.throws(() => loadConfig({ ...base, ...dynamo, DYNAMODB_SECRET_ACCESS_KEY: '' }), /DYNAMODB_SECRET_ACCESS_KEY: must not be empty/);
  });
  it('keeps audit records 400 days unless AUDIT_RETENTION_DAYS says 1-3650 whole days', () => {
    assert.equal(loadConfig(base).AUDIT_RETENTION_DAYS, 400);
    assert.equal(loadConfig({ ...base, AUDIT_RETENTION_DAYS: '30' }).AUDIT_RETENTION_DAYS, 30);
    for (const bad of ['0', '3651', '1.5', '', 'forever']) {
      assert.throws(() => loadConfig({ ...base, AUDIT_RETENTION_DAYS: bad }), /AUDIT_RETENTION_DAYS: must be a whole number of days/, bad);
    }
  });
});
