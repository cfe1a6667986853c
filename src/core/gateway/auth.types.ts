/** GraphQL types of who is calling, API keys and the audit log. */
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum RoleName {
  READ = 'read',
  WRITE = 'write',
  ADMIN = 'admin',
}
registerEnumType(RoleName, {
  name: 'Role',
  description:
    'What a credential may do: READ < WRITE (uploads, ingest, deletes, cameras) < ADMIN (keys, audit log).',
});

@ObjectType({ description: 'The caller: the tenant and role of the credential this request carries.' })
export class Viewer {
  @Field(() => ID)
  tenantId!: string;

  @Field(() => RoleName)
  role!: RoleName;

  @Field(() => String, { description: '"key" (an API key) or "token" (an OIDC/JWT bearer token).' })
  kind!: string;

  @Field(() => ID, { description: "The key's id, or the token's subject." })
  id!: string;
}

@ObjectType({ description: 'An API key of the tenant; its secret is shown only when it is created.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'The first characters of the key, to recognise it (hbik_1a2b3c4d).' })
  prefix!: string;

  @Field(() => RoleName)
  role!: RoleName;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => GraphQLDateTime, { nullable: true, description: 'Updated at most once a minute.' })
  lastUsedAt!: Date | null;

  @Field(() => GraphQLDateTime, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ description: 'A new API key with its secret token: store it now, it is never shown again.' })
export class CreatedApiKey {
  @Field(() => ApiKey)
  key!: ApiKey;

  @Field(() => String, { description: 'Send it as `Authorization: Bearer <token>`.' })
  token!: string;
}

@ObjectType({ description: 'One audited change: who, what, when and from where.' })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: '`key:<id>`, `token:<subject>` or `operator` (the hbi command).' })
  actor!: string;

  @Field(() => String, {
    description: 'e.g. key.create, key.revoke, video.delete, video.reindex, tenant.create.',
  })
  action!: string;

  @Field(() => String, { nullable: true })
  target!: string | null;

  @Field(() => String, { nullable: true, description: "The client's address (and browser Origin)." })
  source!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  details!: Record<string, unknown> | null;

  @Field(() => GraphQLDateTime)
  at!: Date;
}
