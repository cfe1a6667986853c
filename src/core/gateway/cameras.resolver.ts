/**
 * The mutations a camera agent uses: `registerCamera` (created when missing, so an agent can run it at
 * every start) and `setCameraStatus` (ONLINE while it streams, OFFLINE when it stops; both stamp
 * `lastSeenAt`). Lookups (`camera`, `cameras`) live in the library resolver.
 */
import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';

import { Policy } from '../auth/policy.js';

import type { GatewayContext } from './context.js';
import { libraryOf, tenantOf } from './library.resolver.js';
import { Camera, CameraStatus, toCamera } from './library.types.js';

@Resolver()
export class CameraMutationResolver {
  @Policy('write')
  @Mutation(() => Camera, {
    description:
      'The camera named `name` (or with `id`, when given), created OFFLINE when missing; registering again updates its name and source.',
  })
  async registerCamera(
    @Arg('name', () => String) name: string,
    @Arg('id', () => ID, { nullable: true, description: 'Register under this id (a uuid).' })
    id: string | null | undefined,
    @Arg('sourceUrl', () => String, {
      nullable: true,
      description: 'Where the stream is read from, for display (credentials are dropped).',
    })
    sourceUrl: string | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<Camera> {
    return toCamera(await libraryOf(context).cameras.register({ id, name, sourceUrl }, tenantOf(context)));
  }

  @Policy('write')
  @Mutation(() => Camera, { description: "Sets a camera's status and stamps lastSeenAt with now." })
  async setCameraStatus(
    @Arg('id', () => ID) id: string,
    @Arg('status', () => CameraStatus) status: CameraStatus,
    @Ctx() context: GatewayContext,
  ): Promise<Camera> {
    return toCamera(await libraryOf(context).cameras.setStatus(id, status, tenantOf(context)));
  }
}
