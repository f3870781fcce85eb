ardour { ["type"] = "dsp", name = "Sideman MIDI capture", category = "Utility", license = "MIT", author = "Sideman", description = "Records the MIDI events it sees (for Sideman's Ardour test)" }

function dsp_ioconfig () return { { midi_in = 1, midi_out = 1, audio_in = -1, audio_out = -1 } } end

function dsp_init (rate)
  self:shmem():allocate(2 + 4 * 8192)
  self:shmem():clear()
end

function dsp_run (ins, outs, n_samples)
  local shm = self:shmem():to_int(0):array()
  local pos = Session:transport_sample()
  for i = 1, #ins do
    if not ins[i]:sameinstance(outs[i]) then ARDOUR.DSP.copy_vector(outs[i], ins[i], n_samples) end
  end
  local cnt = 1
  for _, ev in pairs(midiin) do
    local n = shm[1]
    local d = ev["data"]
    if n < 8192 and #d >= 1 then
      shm[2 + n * 4 + 1] = pos + ev["time"] - 1
      shm[2 + n * 4 + 2] = d[1]
      shm[2 + n * 4 + 3] = d[2] or 0
      shm[2 + n * 4 + 4] = d[3] or 0
      shm[1] = n + 1
    end
    midiout[cnt] = { ["time"] = ev["time"], ["data"] = d }
    cnt = cnt + 1
  end
  if Session:transport_rolling() then shm[2] = shm[2] + 1 end
end
