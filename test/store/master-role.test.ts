import { describe, expect, it } from 'vitest';
import { onlineReplicasIn } from '../../src/store/master-role.js';

describe('onlineReplicasIn', () => {
  it("counts the replicas a master's ROLE lists", () => {
    expect(onlineReplicasIn(['master', 3129659, []])).toBe(0);
    expect(
      onlineReplicasIn([
        'master',
        3129659,
        [
          ['127.0.0.1', '9001', '3129242'],
          ['127.0.0.1', '9002', '3129543'],
        ],
      ]),
    ).toBe(2);
  });

  it('says nothing of a replica, a sentinel or an error', () => {
    expect(onlineReplicasIn(['slave', '127.0.0.1', 9000, 'connected', 3167038])).toBeUndefined();
    expect(onlineReplicasIn(['sentinel', ['falco']])).toBeUndefined();
    expect(onlineReplicasIn(undefined)).toBeUndefined();
  });
});
