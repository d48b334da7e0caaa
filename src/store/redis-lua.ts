/**
 * Lua that opens a script needing the time: `nowMs`, Redis's own clock in milliseconds, the one
 * clock every replica's script reads (stream ids and lease ends are in it).
 */
export const LUA_NOW_MS = `local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)`;
