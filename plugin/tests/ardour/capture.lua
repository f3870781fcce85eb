-- Headless Ardour 7 session (ardour7-lua, Dummy backend): Sideman's VST3 as the instrument of a
-- MIDI track, a Lua DSP processor after it that records every MIDI event it sees, the transport
-- rolled for a few seconds, and the recorded events printed as
--   EVENT <sample> <status> <key> <velocity>
-- Environment: SIDEMAN_ARDOUR_SESSION (folder to create), SIDEMAN_ARDOUR_SECONDS (roll time).

local function say(x) print(x); io.stdout:flush() end
local dir = os.getenv("SIDEMAN_ARDOUR_SESSION")
local seconds = tonumber(os.getenv("SIDEMAN_ARDOUR_SECONDS") or "4")

local backend = AudioEngine:set_backend("None (Dummy)", "", "")
assert(AudioEngine:current_backend_name() == "Dummy", "no Dummy backend")
local s = create_session(dir, "sideman", 48000)
assert(s, "cannot create session")

local info = nil
for p in ARDOUR.LuaAPI.list_plugins():iter() do
  if p.name == "Sideman" then info = p end
end
assert(info, "Sideman VST3 not found (scan it first)")
say("plugin found")
local tl = Session:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1), ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2),
  false, info, nil, nil, 1, "Sideman", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false)
local track = tl:front()
assert(track, "no track")
say("track created")
-- The capture processor (installed by the test as a Lua DSP script) right after the instrument.
local proc = ARDOUR.LuaAPI.new_luaproc(Session, "Sideman MIDI capture")
assert(not proc:isnil(), "cannot make the capture processor")
local idx = 0
while not track:nth_plugin(idx):isnil() do idx = idx + 1 end
assert(track:add_processor_by_index(proc, idx, nil, true) == 0, "cannot add the capture processor")
say("capture added after " .. idx .. " plugins")

Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(500000)
Session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(math.floor(seconds * 1000000))
Session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(500000)

local shm = proc:to_insert():plugin(0):to_luaproc():shmem():to_int(0):array()
print("ROLLING_BLOCKS " .. shm[2])
for i = 0, shm[1] - 1 do
  print(string.format("EVENT %d %d %d %d", shm[2 + i * 4 + 1], shm[2 + i * 4 + 2], shm[2 + i * 4 + 3], shm[2 + i * 4 + 4]))
end
close_session()
quit()
