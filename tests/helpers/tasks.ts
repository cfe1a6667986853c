/** The typed task runner resolvers get, for a started platform: bound to one tenant (the default one). */
import type { Platform } from '../../src/core/platform.js';
import type { TaskRunner } from '../../src/core/plugins/define-plugin.js';
import { bindTaskRunner } from '../../src/core/tasks/port.js';
import { DEFAULT_TENANT_ID } from '../../src/core/tenancy.js';

export function tasksOf(platform: Pick<Platform, 'tasks'>, tenantId: string = DEFAULT_TENANT_ID): TaskRunner {
  return bindTaskRunner(platform.tasks, tenantId);
}
