/**
 * The room API (`/interview/api/…`), typed, with the server's JSON errors as exceptions.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type RoomStatus = 'open' | 'ended';

export interface IRoom {
  id: string;
  title: string;
  status: RoomStatus;
  notebook_path: string;
  started_at: string | null;
  ended_at: string | null;
  duration_minutes: number;
  ends_at: string | null;
  role: 'candidate' | 'observer' | null;
  mode: 'live' | 'take-home';
  end_reason: 'submitted' | 'ended' | 'timeout' | null;
  submitted_at: string | null;
  interviewer_name: string | null;
  record_paste_text: boolean;
  template?: string;
  candidate_name?: string | null;
  online?: string[];
  links?: { candidate: string; observer: string; grader: string };
  notes?: string;
  warnings?: string[];
  files?: string[];
}

export interface ITemplate {
  name: string;
  title: string;
  description: string;
  duration_minutes: number;
  languages: string[];
  packages: string[];
  unavailable_packages: string[];
}

/** An error the room API answered with: `code` is its stable `error` field. */
export class RoomAPIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

export async function requestAPI<T>(
  path: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'interview/api', path);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new RoomAPIError(
      response.status,
      data?.error ?? 'error',
      data?.message ?? response.statusText
    );
  }
  return data as T;
}

/** "12 min left", "ended", or "" when the interview has not started. */
export function timeLeft(room: IRoom, now: number = Date.now()): string {
  if (room.status === 'ended') {
    return 'ended';
  }
  if (!room.ends_at) {
    return `${room.duration_minutes} min`;
  }
  const minutes = Math.ceil((Date.parse(room.ends_at) - now) / 60000);
  return minutes > 0 ? `${minutes} min left` : 'time is up';
}

/** A room in the review list (`GET /interview/api/reviews`). */
export interface IReviewSummary {
  room_id: string;
  title: string;
  template: string;
  candidate_name: string | null;
  status: RoomStatus;
  end_reason: 'submitted' | 'ended' | 'timeout' | null;
  ended_at: string | null;
  grading: 'queued' | 'running' | 'done' | 'failed' | null;
  tests_passed: number | null;
  tests_total: number | null;
  scorecards: number;
  graders: string[];
  recommendations: string[];
}

/** A server page of the interview (the review page), in a new browser tab. */
export function openPage(path: string): void {
  const settings = ServerConnection.makeSettings();
  window.open(URLExt.join(settings.baseUrl, path), '_blank', 'noopener');
}
